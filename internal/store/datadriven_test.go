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
//	tokens                      prints one line per token record
//	audit                       prints one line per audit entry
//	events [after=<seq>]        prints the kept events as JSON lines
//	alerts                      prints the alerts as JSON lines
//	verify                      recomputes the audit chain (VerifyAudit)
//	tamper seq=<n>              overwrites entry n's result with the input,
//	                            as an attacker editing the stored state would
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
			case "tokens":
				var b strings.Builder
				for _, tk := range s.Tokens() {
					fmt.Fprintf(&b, "%s role=%s hash=%.8s created=%d expires=%d creator=%s revoked=%d by=%s\n", tk.ID, tk.Role, tk.Hash, tk.Created, tk.Expires, tk.Creator, tk.Revoked, tk.RevokedBy)
				}
				return b.String()
			case "audit":
				var b strings.Builder
				for _, e := range s.Audit() {
					fmt.Fprintf(&b, "%d at=%d token=%s role=%s source=%s action=%q detail=%q result=%q prev=%.8s hash=%.8s\n", e.Seq, e.At, e.Token, e.Role, e.Source, e.Action, e.Detail, e.Result, e.Prev, e.Hash)
				}
				return b.String()
			case "events":
				var after uint64
				if d.HasArg("after") {
					d.ScanArgs(t, "after", &after)
				}
				var b strings.Builder
				for _, e := range s.Events(after) {
					bs, _ := json.Marshal(e)
					fmt.Fprintf(&b, "%s\n", bs)
				}
				return b.String()
			case "alerts":
				var b strings.Builder
				for _, a := range s.Alerts() {
					bs, _ := json.Marshal(a)
					fmt.Fprintf(&b, "%s\n", bs)
				}
				return b.String()
			case "verify":
				if err := VerifyAudit(s.Audit()); err != nil {
					return "error: " + err.Error() + "\n"
				}
				return "ok\n"
			case "tamper":
				var seq uint64
				d.ScanArgs(t, "seq", &seq)
				for i := range s.audit {
					if s.audit[i].Seq == seq {
						s.audit[i].Result = strings.TrimSpace(d.Input)
						return "ok\n"
					}
				}
				t.Fatalf("no audit entry %d", seq)
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
		TypeNodeBoot:    "node_boot",
		TypeNodeAttrSet: "node_attr_set", TypeNodeAttrDelete: "node_attr_delete",
		TypeOpResult: "op_result", TypeFailCountClear: "fail_count_clear",
		TypeTokenAdd: "token_add", TypeTokenRevoke: "token_revoke", TypeAuditAppend: "audit_append",
		TypeEventAppend: "event_append", TypeAlertPut: "alert_put", TypeAlertRemove: "alert_remove",
	}[t]
}

func indent(t *testing.T, v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}
