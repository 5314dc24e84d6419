package agentcatalog

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/paceline/paceline/internal/agents/builtin"
	"github.com/paceline/paceline/internal/agents/ocf"
	"github.com/paceline/paceline/internal/model"
)

// realCatalog is the catalogue of this machine: Debian's OCF agents (when
// installed) and the built-in ones.
func realCatalog(t *testing.T) *Catalog {
	t.Helper()
	if _, err := os.Stat("/usr/lib/ocf/resource.d/heartbeat/Dummy"); err != nil {
		t.Skip("resource-agents is not installed (no /usr/lib/ocf/resource.d/heartbeat/Dummy)")
	}
	oc, err := ocf.New(ocf.Config{RunDir: t.TempDir(), TrustedUIDs: []uint32{0, uint32(os.Getuid())}})
	if err != nil {
		t.Fatal(err)
	}
	bc, err := builtin.New(builtin.Config{RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{Classes: map[string]Runner{"ocf": oc, "builtin": bc}, OCFRoots: []string{"/usr/lib/ocf"},
		Names: map[string][]string{"builtin": {"dummy", "process", "vip", "ping"}}})
}

func TestListAndMetaOfRealAgents(t *testing.T) {
	c := realCatalog(t)
	ctx := context.Background()
	all, err := c.List(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ocf:heartbeat:Dummy", "ocf:heartbeat:IPaddr2", "builtin:vip", "builtin:dummy"} {
		if !slices.Contains(all, want) {
			t.Errorf("List lacks %s", want)
		}
	}
	hb, _ := c.List(ctx, "ocf", "heartbeat")
	if len(hb) == 0 || slices.ContainsFunc(hb, func(a string) bool { return !strings.HasPrefix(a, "ocf:heartbeat:") }) {
		t.Errorf("List(ocf, heartbeat) = %v", hb)
	}
	m, err := c.Meta(ctx, "ocf:heartbeat:IPaddr2")
	if err != nil {
		t.Fatal(err)
	}
	ip, ok := m.Param("ip")
	if !ok || !ip.Required {
		t.Errorf("IPaddr2 ip: %+v", ip)
	}
	if !slices.ContainsFunc(m.Actions, func(a model.AgentAction) bool { return a.Name == "monitor" && a.Timeout != "" }) {
		t.Errorf("IPaddr2 actions: %+v", m.Actions)
	}
	d, err := c.Meta(ctx, "builtin:vip")
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := d.Param("ip"); !ok || !p.Required {
		t.Errorf("builtin:vip ip: %+v", d.Parameters)
	}

	for agent, want := range map[string]string{
		"ocf:heartbeat:Dumy": "unknown agent ocf:heartbeat:Dumy (did you mean ocf:heartbeat:Dummy?)",
		"builtin:dumy":       "unknown agent builtin:dumy (did you mean builtin:dummy?)",
		"lsb:nothing-here":   `class "lsb" is not available here`,
		"nonsense":           "want class:type",
	} {
		if _, err := c.Meta(ctx, agent); !errors.Is(err, model.ErrUnknownAgent) || !strings.Contains(err.Error(), want) {
			t.Errorf("Meta(%s) = %v, want %q", agent, err, want)
		}
	}
}

func TestCheckAgainstRealMetaData(t *testing.T) {
	c := realCatalog(t)
	m, err := c.Meta(context.Background(), "ocf:heartbeat:IPaddr2")
	if err != nil {
		t.Fatal(err)
	}
	r := &model.Resource{ID: "vip", Kind: model.KindPrimitive, Class: "ocf", Provider: "heartbeat", Type: "IPaddr2",
		Params: []model.NV{{Name: "ip", Value: "192.0.2.1"}, {Name: "cidr_netmask", Value: "24"}, {Name: "trace_ra", Value: "1"}},
		Ops:    []model.Op{{Name: "monitor"}, {Name: "start"}}}
	if err := m.Check(r); err != nil {
		t.Fatalf("a good IPaddr2: %v", err)
	}
	r.Params = []model.NV{{Name: "cidr_netmsk", Value: "24"}, {Name: "bogus", Value: "1"}}
	r.Ops = []model.Op{{Name: "monitr"}}
	err = m.Check(r)
	for _, want := range []string{`unknown parameter "cidr_netmsk" of ocf:heartbeat:IPaddr2 (did you mean cidr_netmask?)`,
		`unknown parameter "bogus" of ocf:heartbeat:IPaddr2 (it has: ip, `, `missing required parameter "ip" of ocf:heartbeat:IPaddr2`,
		`unknown operation "monitr" of ocf:heartbeat:IPaddr2 (did you mean monitor?)`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check: %v, want %q", err, want)
		}
	}
	for _, is := range []error{model.ErrUnknownParameter, model.ErrMissingParameter, model.ErrUnknownOperation} {
		if !errors.Is(err, is) {
			t.Errorf("Check: errors.Is(%v) is false", is)
		}
	}
}
