package cib

import (
	"sort"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// attrSet is one expanded nvpair block (instance_attributes,
// meta_attributes, utilization, cluster_property_set).
type attrSet struct {
	elem  *node // the expanded set element
	score model.Score
	rule  *node // its rule (expanded), or nil
	pairs []model.NV
	pos   int // position among its siblings
}

// attrSets returns the blocks named setName directly under parent, id-refs
// expanded, in the order Pacemaker applies them: the set whose id is first
// (if any) before all others, then by descending score, the later set in
// the document first among equal scores (Pacemaker builds its list by
// prepending and sorts it stably, so with first-wins merging the last of
// equally scored sets wins). Within a set, nvpairs keep document order.
func (p *parser) attrSets(parent *node, setName, first string) ([]attrSet, error) {
	var sets []attrSet
	for _, c := range parent.children {
		if c.name != setName {
			continue
		}
		e, err := p.idx.deref(c)
		if err != nil {
			return nil, err
		}
		s := attrSet{elem: e, pos: len(sets)}
		if v, ok := e.attr("score"); ok {
			if s.score, err = model.ParseScore(v); err != nil {
				return nil, invalid(e, "score", err)
			}
		}
		for _, k := range e.children {
			switch k.name {
			case "rule":
				if s.rule == nil {
					if s.rule, err = p.idx.deref(k); err != nil {
						return nil, err
					}
				}
			case "nvpair":
				nv, ok, err := p.nvpair(k)
				if err != nil {
					return nil, err
				}
				if ok {
					s.pairs = append(s.pairs, nv)
				}
			}
		}
		sets = append(sets, s)
	}
	sort.Slice(sets, func(i, j int) bool {
		fi := first != "" && strings.EqualFold(sets[i].elem.get("id"), first)
		fj := first != "" && strings.EqualFold(sets[j].elem.get("id"), first)
		if fi != fj {
			return fi
		}
		if sets[i].score != sets[j].score {
			return sets[i].score > sets[j].score
		}
		return sets[i].pos > sets[j].pos
	})
	return sets, nil
}

// nvpair reads one nvpair, resolving id-ref: a referring nvpair takes the
// name and value of the referenced one unless it sets them itself (as
// Pacemaker's populate_hash does). ok is false for a pair without a value
// or with the value "#default", which Pacemaker skips.
func (p *parser) nvpair(n *node) (nv model.NV, ok bool, err error) {
	ref := n
	if _, has := n.attr("id-ref"); has {
		if ref, err = p.idx.deref(n); err != nil {
			return nv, false, err
		}
	}
	name, hasName := n.attr("name")
	if !hasName {
		name, hasName = ref.attr("name")
	}
	value, hasValue := n.attr("value")
	if !hasValue {
		value, hasValue = ref.attr("value")
	}
	if !hasName || name == "" {
		return nv, false, missing(n, "name")
	}
	if !hasValue || value == "#default" {
		return nv, false, nil
	}
	return model.NV{Name: name, Value: value}, true, nil
}

// mergeMap merges sets into one map, the first occurrence of a name
// winning. It returns nil when there is nothing to merge.
func mergeMap(dst map[string]string, sets []attrSet) map[string]string {
	for _, s := range sets {
		for _, nv := range s.pairs {
			if dst == nil {
				dst = make(map[string]string)
			}
			if _, dup := dst[nv.Name]; !dup {
				dst[nv.Name] = nv.Value
			}
		}
	}
	return dst
}

// mergeList merges sets into one ordered list, the first occurrence of a
// name winning and keeping its position.
func mergeList(dst []model.NV, sets []attrSet) []model.NV {
	seen := make(map[string]bool, len(dst))
	for _, nv := range dst {
		seen[nv.Name] = true
	}
	for _, s := range sets {
		for _, nv := range s.pairs {
			if !seen[nv.Name] {
				seen[nv.Name] = true
				dst = append(dst, nv)
			}
		}
	}
	return dst
}

// mergeOverwrite merges sets into one map the way Pacemaker merges an
// operation's meta_attributes (overwriting): a later set in sets replaces
// the values of an earlier one.
func mergeOverwrite(sets []attrSet) map[string]string {
	rev := make([]attrSet, len(sets))
	for i, s := range sets {
		rev[len(sets)-1-i] = s
	}
	return mergeMap(nil, rev)
}

// ruleMap reads the blocks named setName under parent. The map merges the
// blocks without a rule. When any block has a rule, sets holds every
// block in document order (rules and scores kept) for the scheduler to
// evaluate; otherwise sets is nil and the map says everything.
func (p *parser) ruleMap(parent *node, setName, first string) (m map[string]string, sets []model.AttrSet, err error) {
	all, err := p.attrSets(parent, setName, first)
	if err != nil {
		return nil, nil, err
	}
	var plain []attrSet
	hasRule := false
	for _, s := range all {
		if s.rule == nil {
			plain = append(plain, s)
		} else {
			hasRule = true
		}
	}
	m = mergeMap(nil, plain)
	if !hasRule {
		return m, nil, nil
	}
	sets = make([]model.AttrSet, len(all))
	for _, s := range all {
		ms := model.AttrSet{ID: s.elem.get("id"), Score: s.score, Values: dedupe(s.pairs)}
		if s.rule != nil {
			rule, err := p.rule(s.rule)
			if err != nil {
				return nil, nil, err
			}
			ms.Rule = &rule
		}
		sets[s.pos] = ms
	}
	return m, sets, nil
}

// dedupe returns the pairs of one set with later duplicates of a name
// dropped.
func dedupe(nvs []model.NV) []model.NV {
	return mergeList(nil, []attrSet{{pairs: nvs}})
}
