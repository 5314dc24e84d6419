package consensus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"

	"github.com/paceline/paceline/internal/store"
)

// Two-node clusters (docs/two-node.md). With two voters the survivor of
// a lost node has no quorum. Once it has fenced the other through a device
// (the caller's duty: this package does not know fencing), it goes on
// alone: PrepareAlone records the new Raft configuration (itself the only
// voter, the peer kept as a non-voter, which does not count for quorum),
// and the next NewNode on the same data dir rewrites the configuration
// before Raft starts (hashicorp/raft's RecoverCluster, the offline
// recovery: the log and the snapshots are kept) and elects itself. The
// peer, back, receives the log as a non-voter; Join (JoinAt) with its
// server role then promotes it to voter again.

// aloneFile is the data dir's record of a pending recovery (0600).
const aloneFile = "two-node-alone.json"

// Errors of the two-node recovery.
var (
	// ErrNotTwoVoters: PrepareAlone needs a configuration of exactly two
	// voters, this node and the peer.
	ErrNotTwoVoters = errors.New("consensus: not a configuration of two voters")
	// ErrAloneInMemory: an in-memory node cannot be recovered (a restart
	// forgets its log).
	ErrAloneInMemory = errors.New("consensus: an in-memory node cannot go on alone")
)

// aloneServer is one server of the recorded configuration.
type aloneServer struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Voter   bool   `json:"voter"`
}

// PrepareAlone records that this node, having fenced peer (confirmed by a
// device), goes on as the only voter: the next NewNode on this data dir
// (after Shutdown, or in a restarted process) starts Raft with this node
// the only voter and peer a non-voter. The Raft configuration now must be
// exactly this node and peer as voters (ErrNotTwoVoters otherwise). The
// record is written atomically (0600) before PrepareAlone returns.
func (n *Node) PrepareAlone(peer string) error {
	if n.cfg.InMemory {
		return ErrAloneInMemory
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return mapErr("prepare alone", err, n)
	}
	var servers []aloneServer
	voters := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
		switch string(s.ID) {
		case n.cfg.ID:
			servers = append(servers, aloneServer{ID: string(s.ID), Address: string(s.Address), Voter: true})
		case peer:
			servers = append(servers, aloneServer{ID: string(s.ID), Address: string(s.Address)})
		}
	}
	if voters != 2 || len(servers) != 2 || !servers[0].Voter && !servers[1].Voter {
		return fmt.Errorf("%w: %d voters, this node %s and %s among %d", ErrNotTwoVoters, voters, n.cfg.ID, peer, len(servers))
	}
	b, err := json.Marshal(servers)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(n.cfg.DataDir, aloneFile), b)
}

// Alone reports whether this node is the only voter of a configuration
// that also holds non-voting servers it went on without (after a
// PrepareAlone recovery), and which those are.
func (n *Node) Alone() (bool, []string) {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return false, nil
	}
	var others []string
	for _, s := range f.Configuration().Servers {
		switch {
		case string(s.ID) == n.cfg.ID:
			if s.Suffrage != raft.Voter {
				return false, nil
			}
		case s.Suffrage == raft.Voter:
			return false, nil
		default:
			others = append(others, string(s.ID))
		}
	}
	return len(others) > 0, others
}

// Voters returns the Raft configuration's voters and non-voters by ID.
func (n *Node) Voters() (voters, nonvoters []string) {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return nil, nil
	}
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters = append(voters, string(s.ID))
		} else {
			nonvoters = append(nonvoters, string(s.ID))
		}
	}
	return voters, nonvoters
}

// recoverAlone applies a pending PrepareAlone record before Raft starts
// (NewNode): it rewrites the configuration with RecoverCluster and
// removes the record. Without a record it does nothing.
func recoverAlone(cfg Config, rc *raft.Config, logs raft.LogStore, stable raft.StableStore, snaps raft.SnapshotStore, trans raft.Transport) (bool, error) {
	if cfg.InMemory {
		return false, nil
	}
	file := filepath.Join(cfg.DataDir, aloneFile)
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("consensus: two-node recovery: %w", err)
	}
	var servers []aloneServer
	if err := json.Unmarshal(b, &servers); err != nil {
		return false, fmt.Errorf("consensus: two-node recovery: %s: %w", file, err)
	}
	var conf raft.Configuration
	for _, s := range servers {
		suffrage := raft.Nonvoter
		if s.Voter {
			suffrage = raft.Voter
		}
		conf.Servers = append(conf.Servers, raft.Server{Suffrage: suffrage, ID: raft.ServerID(s.ID), Address: raft.ServerAddress(s.Address)})
	}
	// RecoverCluster replays into an FSM of its own; NewRaft then restores
	// the node's store from the snapshot it wrote.
	if err := raft.RecoverCluster(rc, newFSM(), logs, stable, snaps, trans, conf); err != nil {
		return false, fmt.Errorf("consensus: two-node recovery: %w", err)
	}
	if err := os.Remove(file); err != nil {
		return false, fmt.Errorf("consensus: two-node recovery: %w", err)
	}
	return true, nil
}

// writeFileAtomic writes b to file (0600) through a temporary file and a
// rename, synced, so a crash leaves the old file or the new one.
func writeFileAtomic(file string, b []byte) error {
	tmp := file + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("consensus: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, file)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("consensus: %w", err)
	}
	if d, err := os.Open(filepath.Dir(file)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Promote makes the non-voting server id a voter again (on the leader):
// the peer a two-node survivor went on without, back and caught up. It
// blocks until the change commits (which needs id's acknowledgement) or
// ctx ends. Promoting a voter is a no-op.
func (n *Node) Promote(ctx context.Context, id string) error {
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return mapErr("promote "+id, err, n)
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == id {
			return n.addServer(ctx, id, string(s.Address), store.RoleServer)
		}
	}
	return fmt.Errorf("consensus: promote %s: not in the configuration", id)
}
