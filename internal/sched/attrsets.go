package sched

import (
	"sort"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// Attribute sets with rules and scores (cluster properties, rsc_defaults,
// op_defaults, meta attributes, node attributes, utilization) are merged
// the way Pacemaker's pe__unpack_dataset_nvpairs merges them without
// overwriting: the set named first (if any) before all others, then by
// descending score, the later set in the document first among equal
// scores; sets whose rule does not match are skipped, and the first value
// given for a name wins.

// bootstrapSet is the property set Pacemaker applies before all others.
const bootstrapSet = "cib-bootstrap-options"

// orderSets returns the positions of sets (document order) in the order
// Pacemaker applies them.
func orderSets(sets []model.AttrSet, first string) []int {
	idx := make([]int, len(sets))
	for i := range idx {
		idx[i] = i
	}
	isFirst := func(i int) bool { return first != "" && strings.EqualFold(sets[i].ID, first) }
	sort.Slice(idx, func(a, b int) bool {
		i, j := idx[a], idx[b]
		if fi, fj := isFirst(i), isFirst(j); fi != fj {
			return fi
		}
		if sets[i].Score != sets[j].Score {
			return sets[i].Score > sets[j].Score
		}
		return i > j
	})
	return idx
}

// mergeSets evaluates sets in context c and merges the matching ones into
// a new map. Names they leave unset are taken from plain, the values the
// configuration gives without rules. Without sets it returns plain itself,
// which callers must not modify.
func (ws *workingSet) mergeSets(sets []model.AttrSet, plain map[string]string, first string, c ruleContext) map[string]string {
	if len(sets) == 0 {
		return plain
	}
	out := make(map[string]string)
	for _, i := range orderSets(sets, first) {
		s := &sets[i]
		if s.Rule != nil && !ws.evalRuleIn(s.Rule, c) {
			continue
		}
		for _, nv := range s.Values {
			if _, ok := out[nv.Name]; !ok {
				out[nv.Name] = nv.Value
			}
		}
	}
	for k, v := range plain {
		if _, ok := out[k]; !ok {
			out[k] = v
		}
	}
	return out
}

// opDefaults returns the op_defaults that apply to r's operation task with
// the given interval.
func (ws *workingSet) opDefaults(r *resource, task string, intervalMS int64) map[string]string {
	if len(ws.cfg.OpDefaultSets) == 0 {
		return ws.cfg.OpDefaults
	}
	c := ruleContext{op: &opRef{name: task, intervalMS: intervalMS}}
	if r != nil {
		c.agent = r.cfg
	}
	return ws.mergeSets(ws.cfg.OpDefaultSets, ws.cfg.OpDefaults, "", c)
}
