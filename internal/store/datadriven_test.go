package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestDataDriven runs the scenarios in testdata/*.txt. Directives:
//
//	apply type=<command type>   the input is the payload as JSON; prints
//	                            the result ("ok ..." or "error: ...")
//	config                      prints the configuration as JSON
//	status                      prints the scheduler's status as JSON
//	members                     prints one line per member
//	history                     prints one line per kept epoch
//	restore                     snapshots the store and restores it into a
//	                            new one, which the scenario continues with
//
// Rewrite the expected output with: go test ./internal/store -run DataDriven -rewrite
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		s := New()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "apply":
				var typ string
				d.ScanArgs(t, "type", &typ)
				c, err := Decode(fmt.Appendf(nil, `{"v":%d,"type":%q,%q:%s}`, Version, typ, payloadField(Type(typ)), d.Input))
				if err != nil {
					return "decode: " + err.Error() + "\n"
				}
				r := s.Apply(c)
				if r.Err != nil {
					return fmt.Sprintf("error: %v (epoch=%d)\n", r.Err, r.Epoch)
				}
				return fmt.Sprintf("ok epoch=%d changed=%t\n", r.Epoch, r.Changed)
			case "config":
				return indent(t, s.Config())
			case "status":
				return indent(t, s.Status())
			case "members":
				var b strings.Builder
				for _, m := range s.Members() {
					fmt.Fprintf(&b, "%s role=%s addr=%s state=%s display=%s attrs=%v\n", m.Name, m.Role, m.Address, m.State, m.Display(), m.Attributes)
				}
				return b.String()
			case "history":
				var b strings.Builder
				for _, h := range s.History() {
					fmt.Fprintf(&b, "epoch=%d author=%q message=%q nodes=%d resources=%d\n", h.Epoch, h.Author, h.Message, len(h.Config.Nodes), len(h.Config.Resources))
				}
				return b.String()
			case "restore":
				b, err := s.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				s = New()
				if err := s.Restore(b); err != nil {
					t.Fatal(err)
				}
				return "ok\n"
			}
			t.Fatalf("unknown directive %q", d.Cmd)
			return ""
		})
	})
}

// payloadField returns the JSON field name of a command type's payload.
func payloadField(t Type) string {
	return map[Type]string{
		TypeConfigPut: "config_put", TypeConfigRollback: "config_rollback",
		TypeNodeJoin: "node_join", TypeNodeLeave: "node_leave", TypeNodeState: "node_state",
		TypeNodeAttrSet: "node_attr_set", TypeNodeAttrDelete: "node_attr_delete",
		TypeOpResult: "op_result", TypeFailCountClear: "fail_count_clear",
	}[t]
}

func indent(t *testing.T, v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}
