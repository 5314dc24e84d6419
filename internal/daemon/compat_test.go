package daemon

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/compat"
)

// The helper commands on a follower: they read its copy of the store and
// their writes reach the leader (transient attributes, permanent ones and
// cluster options), as crm_attribute does in an agent.
func TestCompatOnFollower(t *testing.T) {
	c := newAPICluster(t)
	follower := "n2"
	if c.leader() == follower {
		follower = "n3"
	}
	peers := NewPeerClient(c.peerTLS(t, follower), c.resolve, 5*time.Second)
	defer peers.Close()
	h := compatHandler{b: NewBackend(c.nodes[follower], peers), node: follower}
	dir, err := os.MkdirTemp("", "pl-daemon-compat-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ln, err := compat.Listen(filepath.Join(dir, "compat.sock"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { compat.Serve(ctx, ln, h, t.Logf); close(done) }()
	defer func() { cancel(); <-done }()

	tool := func(name string, args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := compat.Main(name, args, compat.Env{Out: &out, Err: &errb, Getenv: func(k string) string {
			if k == "PACELINE_COMPAT_SOCKET" {
				return ln.Addr().String()
			}
			return ""
		}})
		return code, out.String() + errb.String()
	}
	// Reads on the follower lag the leader's commit a little.
	expect := func(want string, name string, args ...string) {
		t.Helper()
		var got string
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if _, got = tool(name, args...); got == want {
				return
			}
		}
		t.Errorf("%s %q = %q, want %q", name, args, got, want)
	}
	must := func(name string, args ...string) {
		t.Helper()
		if code, out := tool(name, args...); code != 0 {
			t.Fatalf("%s %q: exit %d: %s", name, args, code, out)
		}
	}
	expect(follower+"\n", "crm_node", "-n")
	// No runtime renews leases here: every member is offline ("lost").
	expect("1 n1 lost\n2 n2 lost\n3 n3 lost\n", "crm_node", "-l")

	must("crm_attribute", "-l", "reboot", "-n", "pingd", "-v", "100")
	expect("100\n", "crm_attribute", "-l", "reboot", "-n", "pingd", "-G", "-q")
	must("crm_attribute", "-N", "n1", "-n", "rack", "-v", "r7")
	expect("scope=nodes  name=rack value=r7\n", "crm_attribute", "-N", "n1", "-n", "rack", "-G")
	for _, n := range c.nodes {
		waitUntil(t, "the permanent attribute everywhere", func() bool {
			for _, node := range n.Config().Nodes {
				if node.Name == "n1" && node.Attributes["rack"] == "r7" {
					return true
				}
			}
			return false
		})
	}
	must("crm_attribute", "-n", "stonith-enabled", "-v", "false")
	expect("false\n", "crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-G", "-q")
	must("crm_attribute", "-N", "n1", "-n", "rack", "-D")
	expect("crm_attribute: Error performing operation: No such device or address\n", "crm_attribute", "-N", "n1", "-n", "rack", "-G", "-q")
	must("attrd_updater", "-n", "pingd", "-D")
	expect("attrd_updater: Could not query value of pingd: attribute does not exist\n", "attrd_updater", "-n", "pingd", "-Q")
	expect("crm_attribute: Could not map name=n9 to a UUID\n", "crm_attribute", "-N", "n9", "-n", "x", "-v", "1")
}
