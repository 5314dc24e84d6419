package sched

import (
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// Attribute sets merge as in Pacemaker's pe__unpack_dataset_nvpairs
// (2.1.5, no overwrite): the "first" set leads, then descending score,
// the later set in the document first among equal scores (checked with
// crm_simulate: of two unscored meta_attributes sets the second's
// target-role wins); sets whose rule fails are skipped.
func TestMergeSets(t *testing.T) {
	at := time.Date(2019, 9, 23, 17, 0, 0, 0, time.UTC) // 12:00 -05:00
	window := func(start, end string) *model.Rule {
		return &model.Rule{Dates: []model.DateExpr{{Operation: "in_range", Start: start, End: end}}}
	}
	set := func(id string, score model.Score, rule *model.Rule, v string) model.AttrSet {
		return model.AttrSet{ID: id, Score: score, Rule: rule, Values: []model.NV{{Name: "x", Value: v}}}
	}
	for _, tc := range []struct {
		name  string
		sets  []model.AttrSet
		first string
		plain map[string]string
		want  string
	}{
		{"equal scores: last wins", []model.AttrSet{set("a", 0, nil, "a"), set("b", 0, nil, "b")}, "", nil, "b"},
		{"higher score wins", []model.AttrSet{set("a", 5, nil, "a"), set("b", 0, nil, "b")}, "", nil, "a"},
		{"first set leads", []model.AttrSet{set("a", 0, nil, "a"), set("b", 100, nil, "b")}, "a", nil, "a"},
		{"first set is case-insensitive", []model.AttrSet{set("A", 0, nil, "a"), set("b", 100, nil, "b")}, "a", nil, "a"},
		{"rule in range", []model.AttrSet{set("a", 10, nil, "off"),
			set("b", 100, window("2019-09-23 11:00:00 -05:00", "2019-09-23 13:00:00 -05:00"), "on")}, "", nil, "on"},
		{"rule out of range", []model.AttrSet{set("a", 10, nil, "off"),
			set("b", 100, window("2019-09-23 18:00:00 -05:00", "2019-09-23 21:00:00 -05:00"), "on")}, "", nil, "off"},
		{"node expression fails without a node", []model.AttrSet{set("a", 10, &model.Rule{
			Expressions: []model.Expr{{Attribute: "site", Operation: "not_defined"}}}, "a")}, "", map[string]string{"x": "plain"}, "plain"},
		{"no sets: the map", nil, "", map[string]string{"x": "plain"}, "plain"},
	} {
		ws := &workingSet{now: at.Unix()}
		got := ws.mergeSets(tc.sets, tc.plain, tc.first, ruleContext{})["x"]
		if got != tc.want {
			t.Errorf("%s: x = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// rsc_expression and op_expression as Pacemaker 2.1.5 evaluates them
// (pe__eval_rsc_expr, pe__eval_op_expr): the provider must match exactly,
// absent meaning none; without resource or operation data nothing
// matches.
func TestAgentAndOpExpressions(t *testing.T) {
	dummy := &model.Resource{ID: "d", Kind: model.KindPrimitive, Class: "ocf", Provider: "pacemaker", Type: "Dummy"}
	fence := &model.Resource{ID: "f", Kind: model.KindPrimitive, Class: "stonith", Type: "fence_xvm"}
	group := &model.Resource{ID: "g", Kind: model.KindGroup}
	for _, tc := range []struct {
		name string
		e    model.AgentExpr
		r    *model.Resource
		want bool
	}{
		{"full match", model.AgentExpr{Class: "ocf", Provider: "pacemaker", Type: "Dummy"}, dummy, true},
		{"other type", model.AgentExpr{Class: "ocf", Provider: "heartbeat", Type: "IPaddr2"}, dummy, false},
		{"provider omitted does not match a provider", model.AgentExpr{Class: "ocf", Type: "Dummy"}, dummy, false},
		{"no provider on either", model.AgentExpr{Class: "stonith"}, fence, true},
		{"group has no agent", model.AgentExpr{Class: "ocf"}, group, false},
		{"empty expression matches a group", model.AgentExpr{}, group, true},
		{"no resource data", model.AgentExpr{}, nil, false},
	} {
		if got := agentMatches(&tc.e, tc.r); got != tc.want {
			t.Errorf("agent %s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		e    model.OpExpr
		o    *opRef
		want bool
	}{
		{"name only", model.OpExpr{Name: "monitor"}, &opRef{"monitor", 60000}, true},
		{"interval matches", model.OpExpr{Name: "monitor", Interval: "10s"}, &opRef{"monitor", 10000}, true},
		{"ISO interval", model.OpExpr{Name: "monitor", Interval: "PT10S"}, &opRef{"monitor", 10000}, true},
		{"interval differs", model.OpExpr{Name: "monitor", Interval: "10s"}, &opRef{"monitor", 20000}, false},
		{"invalid interval", model.OpExpr{Name: "monitor", Interval: "soon"}, &opRef{"monitor", 0}, false},
		{"other name", model.OpExpr{Name: "start"}, &opRef{"monitor", 0}, false},
		{"no operation data", model.OpExpr{Name: "monitor"}, nil, false},
	} {
		if got := opMatches(&tc.e, tc.o); got != tc.want {
			t.Errorf("op %s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Dates may carry an offset after a space, as Pacemaker's crm_time_parse
// reads them (nvpair-date-rules-1).
func TestParseDateOffset(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2019-09-23 12:30:00 -05:00", time.Date(2019, 9, 23, 17, 30, 0, 0, time.UTC)},
		{"2019-09-23 12:30:00 +0200", time.Date(2019, 9, 23, 10, 30, 0, 0, time.UTC)},
		{"2019-09-23 12:30:00Z", time.Date(2019, 9, 23, 12, 30, 0, 0, time.UTC)},
	} {
		got, ok := parseDate(tc.in)
		if !ok || !got.Equal(tc.want) {
			t.Errorf("parseDate(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
		}
	}
}
