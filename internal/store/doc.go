// Package store is Paceline's replicated state machine: the cluster state
// every node holds an identical copy of, changed only by commands that the
// consensus layer has committed to the Raft log.
//
// # State
//
//   - The configuration (model.Config) with its epoch. Every accepted change
//     increments the epoch by one; the newest HistoryLimit configurations
//     are kept, with who changed them and why, for diff and rollback.
//   - The members: name, role (server, witness, client), address,
//     liveness (online, offline, unclean), lease, transient node attributes
//     and, per resource, the operation history (model.OpRecord, Pacemaker's
//     lrm_rsc_op).
//
// Config and Status return deep copies shaped for the scheduler:
//
//	in := sched.Input{Config: st.Config(), Status: st.Status(), Now: now}
//	in.Status.HaveQuorum, in.Status.DC = quorum, leader // not replicated state
//
// # Commands
//
// A Command is a version, a type tag and the one payload the tag names,
// encoded as JSON in the log (Encode, Decode):
//
//	config.put        ConfigPut: replace the configuration if the epoch is
//	                  the expected one (compare-and-set)
//	config.rollback   ConfigRollback: make a kept epoch's configuration
//	                  current again, as a new epoch (also compare-and-set)
//	node.join         NodeJoin: add or update a member; a new member gets a
//	                  node entry in the configuration (a new epoch)
//	node.leave        NodeLeave: forget a member, its status and its entry
//	node.state        NodeState: liveness and lease
//	node.attr.set     NodeAttrSet / NodeAttrDelete: transient attributes
//	node.attr.delete
//	op.result         OpResult: record an operation result, replacing the
//	                  record with the same key; optionally count a failure
//	failcount.clear   FailCountClear: forget fail counts (and history)
//	node.cert         NodeCert: record the serial of a member's certificate
//	cert.revoke       CertRevoke: add a serial to the revocation list
//	ca.set            CASet: replace the CA bundle (a CA rotation's steps)
//	event.append      EventAppend: append cluster events (events.go; a
//	                  bounded log of the newest EventLimit)
//	alert.put         AlertPut / AlertRemove: the alerts events are
//	alert.remove      delivered to (alerts.go)
//
// # Determinism
//
// Apply must give the same state and the same Result on every node for the
// same log. So Apply reads nothing but the store and the command: no clock
// (times are fields the proposer fills in), no randomness, no environment;
// map iteration never decides an outcome; and Snapshot sorts what it
// writes, so equal states encode to equal bytes. Apply does not validate a
// configuration's content (model.Config.Validate): those rules may change
// between releases, so the proposer validates before proposing.
//
// Errors are values in Result.Err: a rejected command (an epoch mismatch,
// an unknown node, a newer command version) changes nothing and is
// rejected identically everywhere. Test them with errors.Is against the
// Err* sentinels.
//
// A Store is not safe for concurrent use; the consensus layer owns it and
// guards reads.
//
// # Example
//
//	st := store.New()
//	st.Apply(store.NewNodeJoin("n1", store.RoleServer, "10.0.0.1:7101")) // epoch 1
//	cfg := st.Config()
//	cfg.Properties = map[string]string{"stonith-enabled": "false"}
//	r := st.Apply(store.NewConfigPut(cfg.Epoch, *cfg, store.Change{Author: "admin"}))
//	// r.Err == nil, r.Epoch == 2; a second put expecting epoch 1 fails
//	// with ErrEpochMismatch.
package store
