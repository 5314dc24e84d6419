package builtin

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents"
)

// These tests need no libvirtd: bad input is refused before any
// connection, and an unreachable libvirtd is one clear line. The tests
// against real libvirtds and QEMU guests are in test/vm.

const vmTestXML = `<domain type='qemu'><name>g1</name><uuid>6b1c2f0e-7a3d-4e5f-9a10-000000000001</uuid></domain>`

func writeVMXML(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "g1.xml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVMBadInput(t *testing.T) {
	c := newClass(t)
	good := writeVMXML(t, vmTestXML)
	cases := []struct {
		name   string
		op     string
		params map[string]string
		want   agents.RC
		reason string // a part of the one-line exit reason
	}{
		{"no domain", "validate-all", map[string]string{"xml": good}, agents.RCNotConfigured, "parameter domain is required"},
		{"bad storage", "start", map[string]string{"domain": "g1", "xml": good, "storage": "nfs"}, agents.RCNotConfigured, `storage "nfs" is not shared or local`},
		{"bad uri", "monitor", map[string]string{"domain": "g1", "uri": "xen:///system"}, agents.RCNotConfigured, "only qemu:// is supported"},
		{"tls uri", "monitor", map[string]string{"domain": "g1", "uri": "qemu+tls://h1/system"}, agents.RCNotConfigured, `transport "tls"`},
		{"relative xml", "validate-all", map[string]string{"domain": "g1", "xml": "g1.xml"}, agents.RCNotConfigured, "not an absolute path"},
		{"missing xml", "start", map[string]string{"domain": "g1", "xml": good + ".missing"}, agents.RCNotInstalled, "g1.xml.missing of domain g1 does not exist"},
		{"name mismatch", "validate-all", map[string]string{"domain": "g2", "xml": good}, agents.RCNotConfigured, `defines domain "g1", not "g2" (parameter domain)`},
		{"not a domain", "validate-all", map[string]string{"domain": "g1", "xml": writeVMXML(t, "<network/>")}, agents.RCNotConfigured, "not a libvirt domain definition"},
		{"bad migrate_uri", "validate-all", map[string]string{"domain": "g1", "xml": good, "migrate_uri": "qemu+tcp://h2/system"}, agents.RCNotConfigured, "does not contain %n"},
		{"local storage migration", "migrate_to", map[string]string{"domain": "g1", "xml": good, "storage": "local"}, agents.RCUnknownError, "live migration needs shared storage; it keeps running here"},
		{"no target", "migrate_to", map[string]string{"domain": "g1", "xml": good, "storage": "shared"}, agents.RCNotConfigured, "without a target node"},
		{"valid", "validate-all", map[string]string{"domain": "g1", "xml": good, "storage": "shared"}, agents.RCOK, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, c, "vm", "vm1", tc.op, tc.params)
			if tc.name == "valid" {
				expect(t, res, agents.RCOK, "validate-all")
				res = c.Run(context.Background(), agents.Request{ResourceID: "vm1", Agent: agents.Type{Class: "builtin", Name: "vm"},
					Op: "validate-all", Params: tc.params, Meta: map[string]string{"ha-level": "Always"}, Timeout: 5 * time.Second})
				tc.want, tc.reason = agents.RCNotConfigured, `meta ha-level "Always" of domain g1 is not NeverStop or None`
			}
			expect(t, res, tc.want, tc.op)
			if !strings.Contains(res.ExitReason, tc.reason) || strings.Contains(res.ExitReason, "\n") {
				t.Fatalf("exit reason %q: want one line containing %q", res.ExitReason, tc.reason)
			}
		})
	}
}

func TestVMUnreachableLibvirtd(t *testing.T) {
	// A port nobody listens on: take one and close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := newClass(t)
	for _, op := range []string{"start", "monitor", "stop"} {
		res := run(t, c, "vm", "vm1", op, map[string]string{"domain": "g1", "xml": writeVMXML(t, vmTestXML),
			"uri": "qemu+tcp://" + addr + "/system"})
		expect(t, res, agents.RCUnknownError, op)
		if !strings.Contains(res.ExitReason, "libvirtd unreachable at qemu+tcp://"+addr) {
			t.Fatalf("%s: exit reason %q does not say libvirtd is unreachable", op, res.ExitReason)
		}
	}
}

func TestVMMetadata(t *testing.T) {
	res := run(t, newClass(t), "vm", "vm1", "meta-data", nil)
	expect(t, res, agents.RCOK, "meta-data")
	for _, want := range []string{`name="domain"`, `name="xml"`, `name="storage"`, `name="uri"`, `action name="migrate_to"`} {
		if !strings.Contains(res.Output, want) {
			t.Errorf("meta-data lacks %s", want)
		}
	}
}

// A VM's needs come from its domain XML as libvirt reads it: <vcpu> and
// <memory> in KiB unless its unit says otherwise, rounded up to MiB.
func TestVMNeedsFromXML(t *testing.T) {
	cases := []struct {
		body    string
		cpus    int
		mem     uint64
		wantErr string
	}{
		{`<vcpu>1</vcpu><memory unit='MiB'>96</memory>`, 1, 96, ""},
		{`<vcpu placement='static'>4</vcpu><memory>2097152</memory>`, 4, 2048, ""}, // KiB
		{`<vcpu>2</vcpu><memory unit='GiB'>3</memory>`, 2, 3072, ""},
		{`<vcpu>2</vcpu><memory unit='KiB'>1000</memory>`, 2, 1, ""}, // rounded up
		{`<vcpu>2</vcpu><memory unit='MB'>100</memory>`, 2, 96, ""},  // 100e6 bytes = 95.4 MiB
		{`<memory unit='MiB'>96</memory>`, 0, 0, "has no <vcpu> or <memory>"},
		{`<vcpu>0</vcpu><memory unit='MiB'>96</memory>`, 0, 0, "not a positive number"},
		{`<vcpu>1</vcpu><memory unit='pages'>96</memory>`, 0, 0, "not a libvirt unit"},
	}
	for _, tc := range cases {
		p, err := parseVM(map[string]string{"domain": "g1", "xml": writeVMXML(t, "<domain type='qemu'><name>g1</name>"+tc.body+"</domain>")})
		if err != nil {
			t.Fatal(err)
		}
		_, d, res := p.parseXML()
		if res != nil {
			t.Fatalf("%s: %s", tc.body, res.ExitReason)
		}
		cpus, mem, err := d.needs()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want %q", tc.body, err, tc.wantErr)
			}
			continue
		}
		if err != nil || cpus != tc.cpus || mem != tc.mem {
			t.Errorf("%s: cpus %d memory %d MiB (%v), want %d and %d", tc.body, cpus, mem, err, tc.cpus, tc.mem)
		}
	}
}
