package sched

import (
	"strings"
	"testing"

	"github.com/paceline/paceline/internal/model"
)

func unpackedConstraints(t *testing.T, cfg *model.Config, st *model.Status) *workingSet {
	t.Helper()
	ws := &workingSet{cfg: cfg, st: st}
	ws.unpackConfig()
	ws.unpackNodes()
	if err := ws.unpackResources(); err != nil {
		t.Fatal(err)
	}
	ws.unpackStatus()
	if err := ws.unpackConstraints(); err != nil {
		t.Fatal(err)
	}
	return ws
}

func set(ids string, mod func(*model.ResourceSet)) model.ResourceSet {
	s := model.ResourceSet{ID: "set-" + ids, Resources: strings.Fields(ids)}
	if mod != nil {
		mod(&s)
	}
	return s
}

func boolp(b bool) *bool { return &b }

func scorep(s model.Score) *model.Score { return &s }

// Each case cites the Pacemaker 2.1.5 rule it checks (unpack_colocation_set
// and colocate_rsc_sets).
func TestColocationSets(t *testing.T) {
	cases := []struct {
		name  string
		score model.Score
		sets  []model.ResourceSet
		want  string // "dependent>primary" pairs in creation order
	}{
		{"sequential set chains each member with the previous", model.Infinity,
			[]model.ResourceSet{set("a b c", nil)}, "b>a c>b"},
		{"ordering=listed chains each member with the next", model.Infinity,
			[]model.ResourceSet{set("a b c", func(s *model.ResourceSet) { s.Ordering = "listed" })}, "a>b b>c"},
		{"non-sequential set has no internal colocation", model.Infinity,
			[]model.ResourceSet{set("a b c", func(s *model.ResourceSet) { s.Sequential = boolp(false) })}, ""},
		{"negative score anti-colocates with every earlier member", -model.Infinity,
			[]model.ResourceSet{set("a b c", nil)}, "b>a c>a c>b"},
		{"set score overrides the constraint's inside the set", model.Infinity,
			[]model.ResourceSet{set("a b", func(s *model.ResourceSet) { s.Score = scorep(0) })}, ""},
		{"two sequential sets: first of the earlier with last of the later", model.Infinity,
			[]model.ResourceSet{set("a b", nil), set("c d", nil)}, "b>a d>c a>d"},
		{"a non-sequential later set contributes every member", model.Infinity,
			[]model.ResourceSet{set("a b", nil), set("c d", func(s *model.ResourceSet) { s.Sequential = boolp(false) })}, "b>a a>c a>d"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, st := testCluster(nil, []model.Node{{Name: "n1"}},
				[]model.Resource{dummy("a", nil), dummy("b", nil), dummy("c", nil), dummy("d", nil)})
			cfg.Colocations = []model.Colocation{{ID: "c", Score: tc.score, Sets: tc.sets}}
			ws := unpackedConstraints(t, cfg, st)
			var got []string
			for _, c := range ws.colocations {
				got = append(got, c.dependent.id+">"+c.primary.id)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("colocations = %q, want %q", strings.Join(got, " "), tc.want)
			}
		})
	}
}

// unpack_order_set and order_rsc_sets.
func TestOrderSets(t *testing.T) {
	cases := []struct {
		name string
		sym  *bool
		sets []model.ResourceSet
		want string
	}{
		{"sequential set with its inverse", nil,
			[]model.ResourceSet{set("a b c", nil)},
			"a_start_0>b_start_0 b_start_0>c_start_0 b_stop_0>a_stop_0 c_stop_0>b_stop_0"},
		{"asymmetric set has no inverse", boolp(false),
			[]model.ResourceSet{set("a b", nil)}, "a_start_0>b_start_0"},
		{"sets without explicit sequential order every pair", boolp(false),
			[]model.ResourceSet{set("a b", func(s *model.ResourceSet) { s.Sequential = boolp(false) }), set("c d", func(s *model.ResourceSet) { s.Sequential = boolp(false) })},
			"a_start_0>c_start_0 a_start_0>d_start_0 b_start_0>c_start_0 b_start_0>d_start_0"},
		{"explicitly sequential sets meet at last and first", boolp(false),
			[]model.ResourceSet{set("a b", func(s *model.ResourceSet) { s.Sequential = boolp(true) }), set("c d", func(s *model.ResourceSet) { s.Sequential = boolp(true) })},
			"a_start_0>b_start_0 c_start_0>d_start_0 b_start_0>c_start_0"},
		{"require-all=false goes through a one-or-more pseudo-action", boolp(false),
			[]model.ResourceSet{set("a b", func(s *model.ResourceSet) { s.Sequential = boolp(false); s.RequireAll = boolp(false) }), set("c", nil)},
			"a_start_0>one-or-more:set-a b b_start_0>one-or-more:set-a b one-or-more:set-a b>c_start_0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, st := testCluster(nil, []model.Node{{Name: "n1"}},
				[]model.Resource{dummy("a", nil), dummy("b", nil), dummy("c", nil), dummy("d", nil)})
			cfg.Orders = []model.Order{{ID: "o", Symmetrical: tc.sym, Sets: tc.sets}}
			ws := unpackedConstraints(t, cfg, st)
			var got []string
			for _, o := range ws.orderings {
				f, th := o.firstKey, o.thenKey
				if o.firstAction != nil {
					f = o.firstAction.key
				}
				if o.thenAction != nil {
					th = o.thenAction.key
				}
				got = append(got, f+">"+th)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("orderings = %q\nwant        %q", strings.Join(got, " "), tc.want)
			}
		})
	}
}
