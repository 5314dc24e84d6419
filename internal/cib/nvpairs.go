package cib

import (
	"sort"

	"github.com/paceline/paceline/internal/model"
)

// attrSet is one expanded nvpair block (instance_attributes,
// meta_attributes, utilization, cluster_property_set).
type attrSet struct {
	elem  *node // the expanded set element
	score model.Score
	rule  *node // its rule (expanded), or nil
	pairs []model.NV
}

// attrSets returns the blocks named setName directly under parent, id-refs
// expanded, in the order Pacemaker applies them: the set whose id is first
// (if any) before all others, then by descending score, document order
// among equal scores. Within a set, nvpairs keep document order.
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
		s := attrSet{elem: e}
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
	sort.SliceStable(sets, func(i, j int) bool {
		fi := first != "" && sets[i].elem.get("id") == first
		fj := first != "" && sets[j].elem.get("id") == first
		if fi != fj {
			return fi
		}
		return sets[i].score > sets[j].score
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

// plainMap reads the blocks named setName under parent into a map and
// refuses blocks with a rule (Paceline evaluates rules only on instance
// attributes of resources and in location constraints).
func (p *parser) plainMap(parent *node, setName, first string) (map[string]string, error) {
	sets, err := p.attrSets(parent, setName, first)
	if err != nil {
		return nil, err
	}
	for _, s := range sets {
		if s.rule != nil {
			return nil, unsupported(s.elem, "", "with a rule")
		}
	}
	return mergeMap(nil, sets), nil
}

// dedupe returns the pairs of one set with later duplicates of a name
// dropped.
func dedupe(nvs []model.NV) []model.NV {
	return mergeList(nil, []attrSet{{pairs: nvs}})
}
