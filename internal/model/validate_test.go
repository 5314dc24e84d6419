package model

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func validConfig() *Config {
	return &Config{
		Nodes: []Node{{Name: "node1", ID: "1"}, {Name: "node2", ID: "2"}},
		Resources: []Resource{
			{ID: "ip", Kind: KindPrimitive, Class: "ocf", Provider: "heartbeat", Type: "IPaddr2"},
			{ID: "g", Kind: KindGroup, Children: []Resource{
				{ID: "g1", Kind: KindPrimitive, Class: "systemd", Type: "nginx"},
			}},
			{ID: "db-clone", Kind: KindClone, Meta: map[string]string{"promotable": "true"}, Children: []Resource{
				{ID: "db", Kind: KindPrimitive, Class: "ocf", Provider: "pacemaker", Type: "Stateful",
					Ops: []Op{{Name: "monitor", Role: "Promoted"}}},
			}},
		},
		Locations: []Location{
			{ID: "l1", Resource: "ip", Node: "node-not-configured", Score: 100},
			{ID: "l2", ResourcePattern: "^g.*", Rules: []Rule{{BooleanOp: "or"}}},
		},
		Colocations: []Colocation{
			{ID: "c1", Resource: "ip", With: "db-clone", WithRole: "Promoted", Score: Infinity},
			{ID: "c2", Sets: []ResourceSet{{Resources: []string{"g1", "db"}}}},
		},
		Orders: []Order{{ID: "o1", First: "db-clone", FirstAction: "promote", Then: "g", Kind: "Optional"}},
		Tickets: []TicketConstraint{
			{ID: "t1", Resource: "db-clone", Role: "Promoted", Ticket: "ticketA", LossPolicy: "demote"},
			{ID: "t2", Ticket: "ticketB", Sets: []ResourceSet{{Resources: []string{"ip", "g"}}}},
		},
	}
}

func TestValidateOK(t *testing.T) {
	if err := validConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (&Config{}).Validate(); err != nil {
		t.Fatalf("empty config: %v", err)
	}
}

func TestValidateProblems(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		want   []string
		is     error
	}{
		{"unknown with", func(c *Config) { c.Colocations[0].With = "foo" },
			[]string{`colocation "c1": field "with": unknown resource "foo"`}, ErrUnknownResource},
		{"unknown in set", func(c *Config) { c.Colocations[1].Sets[0].Resources[1] = "bar" },
			[]string{`colocation "c2": field "sets[0].resources": unknown resource "bar"`}, ErrUnknownResource},
		{"unknown order ends", func(c *Config) { c.Orders[0].First = "x"; c.Orders[0].Then = "y" },
			[]string{`order "o1": field "first": unknown resource "x"`, `order "o1": field "then": unknown resource "y"`}, ErrUnknownResource},
		{"unknown location resource", func(c *Config) { c.Locations[0].Resource = "nope" },
			[]string{`location "l1": field "resource": unknown resource "nope"`}, ErrUnknownResource},
		{"duplicate resource id", func(c *Config) { c.Resources[1].Children[0].ID = "ip" },
			[]string{`resource "ip": field "id": duplicate id`}, ErrDuplicateID},
		{"constraint id clashes", func(c *Config) { c.Orders[0].ID = "c1" },
			[]string{`order "c1": field "id": duplicate id`}, ErrDuplicateID},
		{"empty ids", func(c *Config) { c.Resources[0].ID = ""; c.Locations[1].ID = "" },
			[]string{`resource "#1": field "id": empty id`, `location "#2": field "id": empty id`,
				`location "l1": field "resource": unknown resource "ip"`, `colocation "c1": field "resource"`}, ErrEmptyID},
		{"duplicate node", func(c *Config) { c.Nodes[1].Name = "node1"; c.Nodes[1].ID = "1" },
			[]string{`node "node1": field "name": duplicate name`, `node "node1": field "id": duplicate id "1"`}, ErrDuplicateID},
		{"bad values", func(c *Config) {
			c.Orders[0].Kind = "Sometimes"
			c.Colocations[0].Role = "Promotd"
			c.Locations[1].ResourcePattern = "("
		}, []string{`order "o1": field "kind": invalid value "Sometimes"`,
			`colocation "c1": field "role": invalid value: role "Promotd"`, `location "l2": field "resource_pattern"`}, ErrInvalidValue},
		{"bad ticket", func(c *Config) {
			c.Tickets[0].LossPolicy = "explode"
			c.Tickets[1].Sets[0].Resources[0] = "nope"
			c.Tickets[1].Ticket = ""
		}, []string{`ticket "t1": field "loss_policy": invalid value "explode"`,
			`ticket "t2": field "sets[0].resources": unknown resource "nope"`, `ticket "t2": field "ticket"`}, ErrInvalidValue},
		{"bad structure", func(c *Config) {
			c.Resources[1].Children = nil
			c.Resources[2].Children = append(c.Resources[2].Children, Resource{ID: "x", Kind: KindPrimitive, Class: "ocf", Type: "y"})
			c.Resources[0].Class = ""
		}, []string{`resource "g": field "children": group without members`,
			`resource "db-clone": field "children": clone has 2 children, want 1`,
			`resource "ip": field "class"`, `colocation "c2": field "sets[0].resources": unknown resource "g1"`}, nil},
		{"clone of a clone", func(c *Config) {
			inner := c.Resources[2]
			c.Resources[2] = Resource{ID: "outer", Kind: KindClone, Children: []Resource{inner}}
		}, []string{`resource "db-clone": field "kind": a clone cannot be inside a clone`}, nil},
		{"clone in a group", func(c *Config) {
			c.Resources[1].Children = append(c.Resources[1].Children, c.Resources[2])
			c.Resources = c.Resources[:2]
		}, []string{`resource "db-clone": field "kind": a clone cannot be inside a group`}, nil},
		{"order cycle", func(c *Config) {
			c.Orders = append(c.Orders,
				Order{ID: "o2", First: "ip", Then: "g"},
				Order{ID: "o3", First: "g", Then: "db-clone"},
				Order{ID: "o4", First: "db", Then: "ip"})
		}, []string{`order "o4": field "then": mandatory orders form a cycle: db-clone start -> ip start -> g start -> g1 start -> g started -> db-clone start`}, ErrOrderCycle},
		{"order on itself", func(c *Config) {
			c.Orders = append(c.Orders, Order{ID: "o2", First: "ip", Then: "ip", Kind: "Mandatory"})
		}, []string{`order "o2": field "then": mandatory orders form a cycle: ip start -> ip start`}, ErrOrderCycle},
		{"order cycle through symmetry", func(c *Config) {
			c.Orders = append(c.Orders,
				Order{ID: "o2", First: "ip", Then: "g"},
				Order{ID: "o3", First: "ip", FirstAction: "stop", Then: "g", ThenAction: "stop"})
		}, []string{`order "o3": field "then": mandatory orders form a cycle`}, ErrOrderCycle},
		{"order cycle in a set", func(c *Config) {
			c.Orders = append(c.Orders,
				Order{ID: "o2", First: "ip", Then: "g"},
				Order{ID: "o3", Sets: []ResourceSet{{Resources: []string{"g", "ip"}}}})
		}, []string{`order "o3": field "then": mandatory orders form a cycle`}, ErrOrderCycle},
	} {
		c := validConfig()
		tc.change(c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error\n%v\ndoes not contain %q", tc.name, err, w)
			}
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: errors.Is(err, %v) is false", tc.name, tc.is)
		}
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s: no *FieldError in %v", tc.name, err)
		}
	}
}

func TestOrdersWithoutCycle(t *testing.T) {
	c := validConfig()
	// The database: app after the promotion of db-clone, both
	// symmetrical (demote after app stops), plus optional and
	// non-symmetrical orders that would loop if they were mandatory.
	c.Orders = append(c.Orders,
		Order{ID: "o2", First: "db-clone", FirstAction: "promote", Then: "g"},
		Order{ID: "o3", First: "ip", Then: "g"},
		Order{ID: "o4", First: "g", Then: "ip", Kind: "Optional"},
		Order{ID: "o5", First: "g", Then: "ip", Score: new(Score)},
		Order{ID: "o6", First: "ip", FirstAction: "stop", Then: "db", ThenAction: "start", Symmetrical: new(bool)})
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestNormalizeRoles(t *testing.T) {
	c := validConfig()
	c.Resources[2].Children[0].Ops[0].Role = "Master"
	c.Colocations[0].WithRole = "master"
	c.Colocations[0].Role = "SLAVE"
	c.Locations[0].Role = "Slave"
	c.Tickets[0].Role = "promoted"
	c.Colocations[1].Sets[0].Role = "Master"
	c.NormalizeRoles()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	got := []string{c.Resources[2].Children[0].Ops[0].Role, c.Colocations[0].WithRole, c.Colocations[0].Role,
		c.Locations[0].Role, c.Tickets[0].Role, c.Colocations[1].Sets[0].Role}
	want := []string{"Promoted", "Promoted", "Unpromoted", "Unpromoted", "Promoted", "Promoted"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("roles %v, want %v", got, want)
	}
	c.Locations[0].Role = "Primary"
	c.NormalizeRoles()
	if c.Locations[0].Role != "Primary" || !errors.Is(c.Validate(), ErrInvalidValue) {
		t.Errorf("an unknown role was changed or accepted: %q", c.Locations[0].Role)
	}
}

// A resource ordered between two members of a group is no cycle: the
// members start one after the other, with it in between.
func TestOrderBetweenGroupMembers(t *testing.T) {
	c := &Config{Resources: []Resource{
		{ID: "x", Kind: KindPrimitive, Class: "builtin", Type: "dummy"},
		{ID: "g", Kind: KindGroup, Children: []Resource{
			{ID: "m1", Kind: KindPrimitive, Class: "builtin", Type: "dummy"},
			{ID: "m2", Kind: KindPrimitive, Class: "builtin", Type: "dummy"},
		}},
	}, Orders: []Order{{ID: "o1", First: "m1", Then: "x"}, {ID: "o2", First: "x", Then: "m2"}}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.Orders = append(c.Orders, Order{ID: "o3", First: "g", Then: "x"})
	if err := c.Validate(); !errors.Is(err, ErrOrderCycle) {
		t.Fatalf("x after the whole group and before m2: %v, want a cycle", err)
	}
}

func TestCheckID(t *testing.T) {
	for _, id := range []string{"web", "_x", "db-clone", "app.1", "vip_10", "Ünïcode"} {
		if err := CheckID(id); err != nil {
			t.Errorf("CheckID(%q): %v", id, err)
		}
	}
	for id, want := range map[string]string{"a:b": "':' is reserved", "bad id": "a letter or _", "1web": "a letter or _",
		"-x": "a letter or _", "a/b": "a letter or _"} {
		if err := CheckID(id); !errors.Is(err, ErrInvalidID) || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckID(%q) = %v, want ErrInvalidID with %q", id, err, want)
		}
	}
	c := validConfig()
	c.Resources[0].ID = "a:b"
	c.Locations[0].Resource = "a:b"
	c.Orders[0].ID = "o 1"
	err := c.Validate()
	for _, want := range []string{`resource "a:b": field "id": invalid id "a:b": ':' is reserved`, `order "o 1": field "id": invalid id`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want %q", err, want)
		}
	}
}

func TestCheckProperty(t *testing.T) {
	for _, kv := range [][2]string{{"stonith-enabled", "false"}, {"stonith-enabled", "TRUE"}, {"no-quorum-policy", "freeze"},
		{"cluster-recheck-interval", "5min"}, {"stonith-timeout", "90s"}, {"shutdown-escalation", "PT20M"},
		{"migration-limit", "-1"}, {"node-health-red", "-INFINITY"}, {"load-threshold", "60%"}, {"cluster-name", "x y"},
		{"stonith-enabled", ""}} {
		if err := CheckProperty(kv[0], kv[1]); err != nil {
			t.Errorf("CheckProperty(%s=%s): %v", kv[0], kv[1], err)
		}
	}
	for _, tc := range []struct {
		name, value, want string
		is                error
	}{
		{"stonith-enable", "false", `unknown cluster property "stonith-enable" (did you mean stonith-enabled?)`, ErrUnknownProperty},
		{"no-such-thing-at-all", "1", `unknown cluster property "no-such-thing-at-all" ('paceline property list'`, ErrUnknownProperty},
		{"no-quorum-policy", "sometimes", `invalid value "sometimes" for no-quorum-policy: want one of stop, freeze, ignore, demote, suicide`, ErrInvalidValue},
		{"stonith-enabled", "maybe", "want true or false", ErrInvalidValue},
		{"stonith-timeout", "soon", "want a time", ErrInvalidValue},
		{"batch-limit", "1.5", "want an integer", ErrInvalidValue},
		{"load-threshold", "60", "want a percentage", ErrInvalidValue},
		{"dc-version", "2.1", "read-only cluster property", ErrReadOnlyProperty},
	} {
		err := CheckProperty(tc.name, tc.value)
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckProperty(%s=%s) = %v, want %q", tc.name, tc.value, err, tc.want)
		}
	}
}

func TestParseAgentMeta(t *testing.T) {
	doc := `warning: something on stderr
<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="Thing" version="1.0">
<version>1.0</version>
<shortdesc lang="en">A thing</shortdesc>
<parameters>
<parameter name="path" required="1" unique="1"><shortdesc>where</shortdesc><content type="string"/></parameter>
<parameter name="passwd" reloadable="1"><content type="string" default="x"/></parameter>
<parameter name="old"><deprecated/><content type="string"/></parameter>
</parameters>
<actions><action name="start" timeout="20s"/><action name="monitor" timeout="20s" interval="10s" role="Master" depth="0"/></actions>
</resource-agent>`
	m, err := ParseAgentMeta("ocf:test:Thing", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := m.Param("path")
	pw, _ := m.Param("passwd")
	old, _ := m.Param("old")
	if m.ShortDesc != "A thing" || !p.Required || !p.Unique || p.ShortDesc != "where" || !pw.Reloadable || !pw.Secret ||
		pw.Default != "x" || !old.Deprecated || len(m.Actions) != 2 || m.Actions[1].Role != "Promoted" || m.Actions[1].Interval != "10s" {
		t.Errorf("parsed %+v", m)
	}
	evil := `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]><resource-agent name="e"><shortdesc>&x;</shortdesc></resource-agent>`
	if m, err := ParseAgentMeta("ocf:test:e", []byte(evil)); err == nil && m.ShortDesc == "y" {
		t.Errorf("an entity was expanded: %+v", m)
	}
	if _, err := ParseAgentMeta("ocf:test:none", []byte("usage: thing start|stop")); !errors.Is(err, ErrBadMetaData) {
		t.Errorf("no XML: %v", err)
	}
}

func TestScoreDecodesInfinity(t *testing.T) {
	var c struct {
		A, B, C, D Score
		E          *Score
	}
	if err := json.Unmarshal([]byte(`{"A":"INFINITY","B":"-INFINITY","C":100,"D":"-5","E":2000000}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.A != Infinity || c.B != -Infinity || c.C != 100 || c.D != -5 || c.E == nil || *c.E != Infinity {
		t.Errorf("decoded %+v", c)
	}
	if err := json.Unmarshal([]byte(`{"A":"lots"}`), &c); err == nil {
		t.Errorf("a score of lots was accepted")
	}
	if b, _ := json.Marshal(Colocation{ID: "c", Score: Infinity}); !strings.Contains(string(b), `"score":1000000`) {
		t.Errorf("scores are written as numbers: %s", b)
	}
}
