package daemon

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/compat"
	"github.com/paceline/paceline/internal/httpapi"
	"github.com/paceline/paceline/internal/peer"
	"github.com/paceline/paceline/internal/pki"
	"github.com/paceline/paceline/internal/store"
)

// compatFixture is the local endpoint of one node of an apiCluster, as
// startCompat wires it: reads from the node's backend, writes through an
// API server over it.
type compatFixture struct {
	c    *apiCluster
	node string
	b    *Backend
	sock string
}

// newFollowerCompat is a cluster and the compat fixture of a follower.
func newFollowerCompat(t *testing.T) (*apiCluster, string, *compatFixture) {
	t.Helper()
	c := newAPICluster(t)
	follower := "n2"
	if c.leader() == follower {
		follower = "n3"
	}
	return c, follower, newCompatFixture(t, c, follower)
}

func newCompatFixture(t *testing.T, c *apiCluster, node string) *compatFixture {
	t.Helper()
	peers := peer.NewClient(c.peerTLS(t, node), c.resolve, 5*time.Second)
	t.Cleanup(func() { peers.Close() })
	b := NewBackend(c.nodes[node], peers)
	waitUntil(t, node+" sees every member", func() bool { return len(b.Members()) == len(c.nodes) })
	srv := httpapi.New(httpapi.Config{Backend: b, Tokens: pki.NewTokenSet()})
	dir, err := os.MkdirTemp("", "pl-daemon-compat-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "compat.sock")
	ln, err := compat.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	h := compatHandler{b: b, api: srv, node: node, source: "unix:" + sock}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { compat.Serve(ctx, ln, h, t.Logf); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return &compatFixture{c: c, node: node, b: b, sock: sock}
}

// tool runs a helper command against the endpoint: its exit status and
// its stdout and stderr together.
func (f *compatFixture) tool(name string, args ...string) (int, string) {
	var out, errb bytes.Buffer
	code := compat.Main(name, args, compat.Env{Out: &out, Err: &errb, Getenv: func(k string) string {
		if k == "PACELINE_COMPAT_SOCKET" {
			return f.sock
		}
		return ""
	}})
	return code, out.String() + errb.String()
}

// expect waits (reads on a follower lag the leader's commit a little)
// until the command prints want.
func (f *compatFixture) expect(t *testing.T, want string, name string, args ...string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, got = f.tool(name, args...); got == want {
			return
		}
	}
	t.Errorf("%s %q = %q, want %q", name, args, got, want)
}

func (f *compatFixture) must(t *testing.T, name string, args ...string) {
	t.Helper()
	if code, out := f.tool(name, args...); code != 0 {
		t.Fatalf("%s %q: exit %d: %s", name, args, code, out)
	}
}

// auditAfter waits until the node's copy of the audit log has more than
// n entries and returns those after the first n.
func (f *compatFixture) auditAfter(t *testing.T, n int) []store.AuditEntry {
	t.Helper()
	var got []store.AuditEntry
	waitUntil(t, "the audit entry", func() bool { got = f.b.Audit(); return len(got) > n })
	return got[n:]
}

// The helper commands on a follower: they read its copy of the store and
// their writes reach the leader (transient and permanent attributes), as
// crm_attribute does in an agent.
func TestCompatOnFollower(t *testing.T) {
	c, follower, f := newFollowerCompat(t)

	f.expect(t, follower+"\n", "crm_node", "-n")
	// No runtime renews leases here: every member is offline ("lost").
	f.expect(t, "1 n1 lost\n2 n2 lost\n3 n3 lost\n", "crm_node", "-l")

	f.must(t, "crm_attribute", "-l", "reboot", "-n", "pingd", "-v", "100")
	f.expect(t, "100\n", "crm_attribute", "-l", "reboot", "-n", "pingd", "-G", "-q")
	f.must(t, "crm_attribute", "-N", "n1", "-n", "rack", "-v", "r7")
	f.expect(t, "scope=nodes  name=rack value=r7\n", "crm_attribute", "-N", "n1", "-n", "rack", "-G")
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
	// Cluster options are read here, set with an admin token.
	if err := c.client(t, c.leader()).SetProperty(context.Background(), "stonith-enabled", "false"); err != nil {
		t.Fatal(err)
	}
	f.expect(t, "false\n", "crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-G", "-q")
	f.must(t, "crm_attribute", "-N", "n1", "-n", "rack", "-D")
	f.expect(t, "crm_attribute: Error performing operation: No such device or address\n", "crm_attribute", "-N", "n1", "-n", "rack", "-G", "-q")
	f.must(t, "attrd_updater", "-n", "pingd", "-D")
	f.expect(t, "attrd_updater: Could not query value of pingd: attribute does not exist\n", "attrd_updater", "-n", "pingd", "-Q")
	f.expect(t, "crm_attribute: Could not map name=n9 to a UUID\n", "crm_attribute", "-N", "n9", "-n", "x", "-v", "1")
}

// Issue: the CLI, web UI and local socket all go through the same check.
// The socket's writes are API requests of the local principal
// local:uid=UID@NODE (role operator): a transient and a permanent node
// attribute are allowed and audited under that name with the socket as
// source; a cluster option needs admin, so it is refused with exit 4
// (CRM_EX_INSUFFICIENT_PRIV) and one line, changes nothing, and is audited
// as refused.
func TestCompatWritesAreAuditedAndChecked(t *testing.T) {
	c, follower, f := newFollowerCompat(t)
	who := fmt.Sprintf("local:uid=%d@%s", os.Geteuid(), follower)
	src := "unix:" + f.sock
	entry := func(e store.AuditEntry, action, result string) {
		t.Helper()
		if e.Token != who || e.Role != "operator" || e.Source != src || e.Action != action || !strings.Contains(e.Result, result) {
			t.Errorf("audit entry %+v, want %s by %s (operator) from %s: %s", e, action, who, src, result)
		}
	}

	n := len(f.b.Audit())
	f.must(t, "attrd_updater", "-n", "pingd", "-U", "100")
	got := f.auditAfter(t, n)
	entry(got[0], "PUT /v1/nodes/"+follower+"/attributes", "ok")
	if !strings.Contains(got[0].Detail, `"pingd":"100"`) {
		t.Errorf("audit detail %q, want the attribute", got[0].Detail)
	}

	n = len(f.b.Audit())
	f.must(t, "crm_attribute", "-N", "n1", "-l", "forever", "-n", "pgsql-data-status", "-v", "LATEST")
	got = f.auditAfter(t, n)
	entry(got[0], "POST /v1/config", "ok")
	var author string
	waitUntil(t, "the change in the history", func() bool {
		c.nodes[follower].Read(func(s *store.Store) {
			h := s.History()
			if last := h[len(h)-1]; last.Config.Nodes[0].Attributes["pgsql-data-status"] == "LATEST" {
				author = last.Author
			}
		})
		return author != ""
	})
	if author != who {
		t.Errorf("configuration history author %q, want %q", author, who)
	}

	epoch := f.b.Config().Epoch
	n = len(f.b.Audit())
	code, out := f.tool("crm_attribute", "--type", "crm_config", "-n", "stonith-enabled", "-v", "false")
	want := "crm_attribute: setting cluster option stonith-enabled needs admin: use `paceline property set stonith-enabled=false` with an admin token\n"
	if code != compat.ExitPermission || out != want {
		t.Errorf("cluster option: exit %d, %q; want exit %d, %q", code, out, compat.ExitPermission, want)
	}
	got = f.auditAfter(t, n)
	entry(got[0], "PUT /v1/properties/stonith-enabled", "needs admin")
	for name, node := range c.nodes {
		if e, v := node.Config().Epoch, node.Config().Properties["stonith-enabled"]; e != epoch || v != "" {
			t.Errorf("%s after the refused cluster option: epoch %d (was %d), stonith-enabled=%q", name, e, epoch, v)
		}
	}
	if code, out := f.tool("crm_attribute", "-n", "stonith-enabled", "-D"); code != compat.ExitPermission ||
		!strings.Contains(out, "deleting cluster option stonith-enabled needs admin") {
		t.Errorf("deleting a cluster option: exit %d, %q", code, out)
	}
}

// Permanent attributes are compare-and-set configuration changes: writers
// racing on a follower lose with 409 and retry until each has landed.
func TestCompatPermanentAttributesRetry(t *testing.T) {
	_, _, f := newFollowerCompat(t)
	const writers = 4
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, out := f.tool("crm_attribute", "-N", "n1", "-n", fmt.Sprintf("a%d", i), "-v", "x"); code != 0 {
				t.Errorf("writer %d: exit %d: %s", i, code, out)
			}
		}()
	}
	wg.Wait()
	waitUntil(t, "every attribute", func() bool {
		for _, node := range f.b.Config().Nodes {
			if node.Name == "n1" {
				return len(node.Attributes) == writers
			}
		}
		return false
	})
}

// crm_resource --meta --get-parameter, as PAF's pgsqlms asks whether its
// clone has notify=true: the primitive's own meta-attribute, else its
// clone's (an instance suffix :N is ignored); exit 105 for one that is not
// set or a resource that does not exist.
func TestCompatResourceMeta(t *testing.T) {
	c, _, f := newFollowerCompat(t)
	if _, err := c.client(t, c.leader()).CreateResource(context.Background(), api.ResourceRequest{ID: "pg", Agent: "builtin:dummy",
		Meta:  map[string]string{"resource-stickiness": "10"},
		Clone: &api.CloneSpec{Promotable: true, Meta: map[string]string{"notify": "true", "resource-stickiness": "99"}}}); err != nil {
		t.Fatal(err)
	}
	f.expect(t, "true\n", "crm_resource", "--resource", "pg:1", "--meta", "--get-parameter", "notify")
	f.expect(t, "10\n", "crm_resource", "-r", "pg", "--meta", "-g", "resource-stickiness")
	f.expect(t, "99\n", "crm_resource", "-r", "pg-clone", "--meta", "-g", "resource-stickiness")
	for _, args := range [][]string{{"-r", "pg", "--meta", "-g", "globally-unique"}, {"-r", "nope", "--meta", "-g", "notify"}} {
		if code, out := f.tool("crm_resource", args...); code != compat.ExitNoSuch || strings.Count(out, "\n") != 1 {
			t.Errorf("crm_resource %q: exit %d, %q; want exit %d and one line", args, code, out, compat.ExitNoSuch)
		}
	}
	if code, out := f.tool("crm_resource", "-r", "pg", "-g", "notify"); code != compat.ExitUsage || !strings.Contains(out, "--meta") {
		t.Errorf("an instance parameter: exit %d, %q; want a usage error", code, out)
	}
}

// attrd_updater --private, as PAF's pre-promote notification records
// each instance's LSN: written through the API (PUT
// /v1/nodes/NODE/attributes?private=true), read back on the follower, kept
// apart from the transient attributes the scheduler reads.
func TestCompatPrivateAttribute(t *testing.T) {
	c, follower, f := newFollowerCompat(t)
	f.must(t, "attrd_updater", "--private", "--lifetime", "reboot", "--name", "lsn_location-db", "--update", "0/5000")
	f.expect(t, `name="lsn_location-db" host="`+follower+`" value="0/5000"`+"\n", "attrd_updater", "--private", "--lifetime", "reboot", "--name", "lsn_location-db", "--query")
	for name, n := range c.nodes {
		waitUntil(t, "the private attribute on "+name, func() bool {
			ok := false
			n.Read(func(s *store.Store) {
				m, _ := s.Member(follower)
				ok = m.Private["lsn_location-db"] == "0/5000" && m.Attributes["lsn_location-db"] == ""
			})
			return ok
		})
	}
	f.must(t, "attrd_updater", "-p", "-n", "lsn_location-db", "-D")
	f.expect(t, "attrd_updater: Could not query value of lsn_location-db: attribute does not exist\n", "attrd_updater", "-p", "-n", "lsn_location-db", "-Q")
}

// ocf:heartbeat:mysql keeps the master's binlog position as a
// crm_config attribute: a property that is no cluster option is agents'
// data, which the local socket (role operator) may set and read back;
// a cluster option still needs admin (TestCompatWritesAreAuditedAndChecked).
func TestCompatAgentDataProperty(t *testing.T) {
	c, _, f := newFollowerCompat(t)
	const info = "10.77.0.11|mysql-bin.000002|342"
	f.must(t, "crm_attribute", "--type", "crm_config", "--name", "db_REPL_INFO", "-s", "mysql_replication", "-v", info)
	f.expect(t, info+"\n", "crm_attribute", "--type", "crm_config", "--name", "db_REPL_INFO", "-s", "mysql_replication", "--query", "-q")
	waitUntil(t, "the property on the leader", func() bool { return c.nodes[c.leader()].Config().Properties["db_REPL_INFO"] == info })
	f.must(t, "crm_attribute", "--type", "crm_config", "--name", "db_REPL_INFO", "-D")
	f.expect(t, "crm_attribute: Error performing operation: No such device or address\n", "crm_attribute", "--type", "crm_config", "--name", "db_REPL_INFO", "-G", "-q")
}

// An agent setting its promotion score to the value it has (ocf:heartbeat:
// mysql and PAF do at every monitor) changes nothing the controller plans
// from: the write is audited, quietly, and the store's change index (what
// wakes the controller, whose every wake aborted the transition under
// way) stays where it was.
func TestCompatUnchangedAttributeWakesNothing(t *testing.T) {
	c, follower, f := newFollowerCompat(t)
	f.must(t, "crm_attribute", "--node", follower, "--lifetime", "reboot", "--name", "master-db", "--update", "5")
	leader := c.nodes[c.leader()]
	audited := func() int {
		n := 0
		leader.Read(func(s *store.Store) { n = len(s.Audit()) })
		return n
	}
	waitUntil(t, "the write audited", func() bool { return audited() > 0 })
	index := func() uint64 {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		n, _ := leader.WaitChange(ctx, math.MaxUint64)
		return n
	}
	before, entries := index(), audited()
	f.must(t, "crm_attribute", "--node", follower, "--lifetime", "reboot", "--name", "master-db", "--update", "5")
	waitUntil(t, "the second write audited", func() bool { return audited() > entries })
	if after := index(); after != before {
		t.Errorf("an unchanged attribute moved the change index from %d to %d", before, after)
	}
	f.must(t, "crm_attribute", "--node", follower, "--lifetime", "reboot", "--name", "master-db", "--update", "6")
	waitUntil(t, "a changed attribute moves the change index", func() bool { return index() > before })
}
