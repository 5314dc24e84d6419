// Package consensus replicates the store (package store) with Raft. It is
// the only package that imports hashicorp/raft: the log lives in
// raft-boltdb in the node's data dir, snapshots next to it, and the
// transport is the caller's (raft.InmemTransport in tests; mutual TLS
// later).
//
// A Node owns one Raft instance and its copy of the store:
//
//	n, err := consensus.NewNode(cfg, transport)
//	n.Bootstrap()                                     // the first server only
//	<-n.LeaderCh()                                    // true: this node leads
//	n.Join(ctx, "n1", addr1, store.RoleServer)        // record itself
//	n.Join(ctx, "n2", addr2, store.RoleServer)        // Raft voter + store member
//	res, err := n.Apply(ctx, store.NewConfigPut(epoch, cfg, change))
//	// err: consensus failed (ErrNotLeader, ErrLeadershipLost, ErrTimeout);
//	// res.Err: the store refused (store.ErrEpochMismatch, ...)
//
// Proposals (Apply, Join, Leave, Barrier) must be made on the leader;
// reads (Read, Config, Status, Epoch) are local and may lag the leader.
// A new leader calls Barrier before acting on what it reads.
package consensus
