package builtin

import (
	"context"
	"net"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/model"
)

// fakeQemu starts a process that looks like libvirt's qemu of domain (its
// program name and "-name guest=DOMAIN,..."), killed at the end.
func fakeQemu(t *testing.T, domain string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("bash", "-c", `exec -a qemu-system-x86_64 bash -c "sleep 60; exit 0" -name guest=`+domain+`,debug-threads=on`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for range 100 { // until bash has exec'd
		if runsDomain(cmd.Process.Pid, domain) {
			return cmd
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the stand-in qemu of %s does not show up", domain)
	return nil
}

// A libvirtd that is gone (no socket) or hung (accepts, never answers):
// while the domain's qemu process runs, monitor succeeds and the node
// attribute vm-unknown-ID says why its state is unknown, and stop fails
// (it cannot stop it) unless it is a self-fence's destroy, which kills the
// qemu; with no qemu, monitor says not running and stop
// succeeds. A libvirtd that comes back is test/vm's (TestVMLibvirtdDown).
func TestVMLibvirtdGoneOrHung(t *testing.T) {
	dir := t.TempDir()
	domain := "pl-f3-unit-" + strconv.Itoa(time.Now().Nanosecond())
	gone := "qemu+unix:///system?socket=" + filepath.Join(dir, "none.sock")
	hungSock := filepath.Join(dir, "hung.sock")
	l, err := net.Listen("unix", hungSock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accept and never answer, as a SIGSTOPped libvirtd's backlog does
		var held []net.Conn
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	hung := "qemu+unix:///system?socket=" + hungSock
	attrs := &attrStore{}
	c, err := New(Config{RunDir: t.TempDir(), Attrs: attrs})
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) string {
		attrs.mu.Lock()
		defer attrs.mu.Unlock()
		return attrs.values[name]
	}
	run := func(t *testing.T, c *Class, typ, id, op string, params map[string]string) agents.Result {
		return c.Run(context.Background(), agents.Request{ResourceID: id, Agent: agents.Type{Class: "builtin", Name: typ},
			Op: op, Params: params, Timeout: 20 * time.Second})
	}
	params := func(uri string) map[string]string {
		return map[string]string{"domain": domain, "xml": writeVMXML(t, vmTestXML), "storage": "shared", "uri": uri}
	}
	q := fakeQemu(t, domain)
	for _, uri := range []string{gone, hung} {
		start := time.Now()
		res := run(t, c, "vm", "vm1", "monitor", params(uri))
		took := time.Since(start)
		expect(t, res, agents.RCOK, "monitor with qemu running, "+uri)
		why := get(model.AttrVMUnknownPrefix + "vm1")
		if !strings.Contains(why, "libvirtd unreachable") || !strings.Contains(why, "its qemu (pid "+strconv.Itoa(q.Process.Pid)+") still runs") {
			t.Errorf("%s: vm-unknown-vm1=%q, want why with the qemu pid", uri, why)
		}
		if took > libvirtdAnswer+3*time.Second {
			t.Errorf("%s: monitor took %v", uri, took)
		}
		t.Logf("%s: monitor rc 0 after %v: %s", uri, took.Round(time.Millisecond), why)
		res = run(t, c, "vm", "vm1", "stop", params(uri))
		expect(t, res, agents.RCUnknownError, "stop with qemu running, "+uri)
		if !strings.Contains(res.ExitReason, "still runs here: cannot stop it") {
			t.Errorf("%s: stop: %q", uri, res.ExitReason)
		}
	}
	// A self-fence under Force (destroy) does not wait for libvirtd: it
	// kills the domain's qemu itself.
	res := c.Run(context.Background(), agents.Request{ResourceID: "vm1", Agent: agents.Type{Class: "builtin", Name: "vm"},
		Op: "stop", Params: params(hung), Meta: map[string]string{model.MetaVMDestroy: "true"}, Timeout: 20 * time.Second})
	expect(t, res, agents.RCOK, "destroy with libvirtd hung and qemu running")
	if pid, _ := (&vmParams{domain: domain, uri: mustURI(t, hung)}).qemuPID(); pid != 0 {
		t.Errorf("qemu of %s (pid %d) still runs after the destroy", domain, pid)
	}
	if !strings.Contains(res.Output, "killed its qemu (pid "+strconv.Itoa(q.Process.Pid)+")") {
		t.Errorf("destroy: output %q", res.Output)
	}
	q.Wait()
	for _, uri := range []string{gone, hung} {
		res := run(t, c, "vm", "vm1", "monitor", params(uri))
		expect(t, res, agents.RCNotRunning, "monitor without qemu, "+uri)
		if !strings.Contains(res.ExitReason, "no qemu process runs domain "+domain+" here") {
			t.Errorf("%s: monitor: %q", uri, res.ExitReason)
		}
		if why := get(model.AttrVMUnknownPrefix + "vm1"); why != "" {
			t.Errorf("%s: vm-unknown-vm1=%q after the monitor knew, want it cleared", uri, why)
		}
		expect(t, run(t, c, "vm", "vm1", "stop", params(uri)), agents.RCOK, "stop without qemu, "+uri)
	}
}

func mustURI(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
