// Package consensus replicates the store (package store) with Raft. It is
// the only package that imports hashicorp/raft: the log lives in
// raft-boltdb in the node's data dir, snapshots next to it, and the
// transport is the caller's: MemTransport for in-process clusters,
// TLSTransport (mutual TLS 1.3 over TCP) between hosts.
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
//
// # Transport between hosts
//
// TLSTransport carries Raft over TCP with mutual TLS 1.3. The caller
// brings the TLS configurations (pki.NodeTLS serves as both; this package
// does not know pki): both ends present a certificate that must chain to
// the cluster CA, and the dialler also checks that the peer's certificate
// names the host it dialled, so a node's certificate must carry its
// advertised address. A connection whose handshake fails, or does not
// finish within HandshakeTimeout, is closed and logged and never reaches
// Raft; handshakes run concurrently, so a bad peer cannot hold up others.
//
//	tc := consensus.DefaultTransportConfig()
//	tc.Bind, tc.Advertise = "0.0.0.0:7101", "10.0.0.1:7101"
//	tc.Server, tc.Client = nodeTLS, nodeTLS
//	tr, err := consensus.NewTLSTransport(tc)
//	n, err := consensus.NewNode(cfg, tr.Transport()) // n.Shutdown closes tr
//	leader.Join(ctx, "n2", "10.0.0.2:7101", store.RoleServer)
package consensus
