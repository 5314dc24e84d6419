package sched

import (
	"testing"

	"github.com/paceline/paceline/internal/model"
)

// Location rules: rsc-pattern="!re" applies to resources the pattern does
// not match, and value-source="param" compares with the resource's
// parameter as it applies on each node (value-source regression test).
func TestLocationPatternAndParamSource(t *testing.T) {
	nodes := []model.Node{
		{Name: "n1", Attributes: map[string]string{"fake": "100"}},
		{Name: "n2", Attributes: map[string]string{"fake": "200"}},
		{Name: "n3", Attributes: map[string]string{"fake": "300"}},
	}
	plain := dummy("plain", nil)
	plain.Params = []model.NV{{Name: "fake", Value: "300"}}
	varying := dummy("varying", nil)
	varying.Params = []model.NV{{Name: "fake", Value: "999"}}
	varying.RuleParams = []model.AttrSet{{ID: "on-n2", Score: 20,
		Rule:   &model.Rule{Expressions: []model.Expr{{Attribute: "#uname", Operation: "eq", Value: "n2"}}},
		Values: []model.NV{{Name: "fake", Value: "200"}}}}
	skipped := dummy("rsc-skipped", nil)
	cfg, st := testCluster(nil, nodes, []model.Resource{plain, varying, skipped})
	eqParam := []model.Rule{{Score: model.Infinity, HasScore: true,
		Expressions: []model.Expr{{Attribute: "fake", Operation: "eq", Value: "fake", ValueSource: "param"}}}}
	cfg.Locations = []model.Location{
		{ID: "not-rsc", ResourcePattern: "!rsc", Rules: eqParam},
		{ID: "skipped-on-n3", Resource: "rsc-skipped", Node: "n3", Score: 100},
	}
	if got, want := placements(t, cfg, st), "plain=n3 rsc-skipped=n3 varying=n2"; got != want {
		t.Errorf("placements = %q, want %q", got, want)
	}
}
