package vm

import (
	"fmt"
	"testing"
	"time"

	"github.com/paceline/paceline/test/e2e"
)

// Cluster is test/e2e's cluster on the libvirt hosts: node nI's agent runs
// on host hI (in its namespaces: it reaches its libvirtd at
// qemu:///system, as on a real VM host), the CLI in the client namespace.
// Unlike e2e's default, stonith-enabled stays true: a lost host's VMs are
// held until it is fenced or confirmed down (or, under vm-ha-strategy
// Force, until its lease and self-fence deadline ran out).
type Cluster struct {
	*e2e.Cluster
	t *testing.T
	n *Net
}

// Status is e2e's status --json, with the VMs.
type Status = e2e.Status

// NewCluster runs init on h1 and join on every other host, starts every
// agent and waits until every node is online with quorum.
// roles, when given, are the --role of each host's node in order (the
// first must be server; e2e.Options.Roles).
func NewCluster(t *testing.T, n *Net, roles ...string) *Cluster {
	t.Helper()
	c := &Cluster{Cluster: e2e.NewClusterWith(t, n.Net, e2e.Options{KeepStonith: true, Roles: roles}), t: t, n: n}
	t.Cleanup(func() {
		if t.Failed() {
			if out, err := c.Run("status", "--failcounts"); err == nil {
				t.Logf("--- status ---\n%s", out)
			}
		}
	})
	return c
}

// Run runs the CLI in the client namespace.
func (c *Cluster) Run(args ...string) (string, error) {
	return c.Paceline(c.n.Client, args...)
}

// StartAgent starts (again) the agent of host h.
func (c *Cluster) StartAgent(h *Host) { c.Cluster.StartAgent(h.Host) }

// Wait polls status until cond holds (e2e's WaitStatus, from every node)
// and fails the test after limit.
func (c *Cluster) Wait(what string, limit time.Duration, cond func(*Status) bool) *Status {
	c.t.Helper()
	return c.WaitStatus(nil, what, limit, cond)
}

// WaitVM waits until the VM is in state on the node host ("" for any).
func (c *Cluster) WaitVM(id, state, host string, limit time.Duration) e2e.VM {
	c.t.Helper()
	st := c.Wait(fmt.Sprintf("%s %s on %q", id, state, host), limit, func(st *Status) bool {
		v := st.VM(id)
		return v.State == state && (host == "" || v.Host == host)
	})
	return st.VM(id)
}

// waitOnline waits until every node is online with quorum.
func (c *Cluster) waitOnline(limit time.Duration) {
	c.t.Helper()
	c.Wait("every node online", limit, func(st *Status) bool {
		return st.Quorum && st.Online() == len(st.Nodes)
	})
}
