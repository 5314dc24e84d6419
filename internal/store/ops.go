package store

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// opKey is the record key of an operation (see OpResult).
func opKey(rsc string, op *model.OpRecord) (key string, derived bool) {
	if op.ID != "" {
		return op.ID, false
	}
	if op.Interval > 0 {
		return fmt.Sprintf("%s_%s_%d", rsc, op.Operation, op.Interval), true
	}
	return rsc + "_last_0", true
}

// lastFailure ends the id of a resource's last-failure record.
const lastFailure = "_last_failure_0"

// failed reports whether an operation result is a failure: an unexpected
// exit code, or an executor status other than done or pending.
func failed(op *model.OpRecord) bool {
	if op.OpStatus != 0 && op.OpStatus != -1 {
		return true
	}
	return op.OpStatus == 0 && op.RC != op.TargetRC
}

// failAttr is the suffix of a resource operation's fail-count and
// last-failure attribute names ("rsc#op_interval", Pacemaker 2.x).
func failAttr(rsc, op string, interval int64) string {
	return rsc + "#" + op + "_" + strconv.FormatInt(interval, 10)
}

func (s *Store) opResult(p *OpResult) (bool, error) {
	m, err := s.member(p.Node)
	if err != nil {
		return false, err
	}
	rid := p.Resource.ID
	if rid == "" {
		return false, fmt.Errorf("%w: resource id of an operation result", ErrEmptyName)
	}
	if p.Op.Operation == "" {
		return false, fmt.Errorf("%w: operation of a %s result", ErrEmptyName, rid)
	}
	i := slices.IndexFunc(m.Resources, func(r model.ResourceHistory) bool { return r.ID == rid })
	if i < 0 {
		m.Resources = append(m.Resources, model.ResourceHistory{ID: rid})
		i = len(m.Resources) - 1
	}
	rh := &m.Resources[i]
	rh.Class, rh.Provider, rh.Type, rh.Container = p.Resource.Class, p.Resource.Provider, p.Resource.Type, p.Resource.Container
	op := p.Op
	key, _ := opKey(rid, &op)
	op.ID = key
	putOp(rh, op)
	// A failure is also kept as the resource's last failure on the node
	// (Pacemaker's RSC_last_failure_0), which later results of the same
	// operation do not overwrite: status shows it as a failed action
	// until a cleanup.
	if failed(&op) && !strings.HasSuffix(key, lastFailure) {
		op.ID = rid + lastFailure
		putOp(rh, op)
	}
	if p.FailCountAdd != 0 {
		suffix := failAttr(rid, p.Op.Operation, p.Op.Interval)
		old, _ := model.ParseScore(m.Attributes["fail-count-"+suffix])
		when := p.Op.LastRCChange
		if when == 0 {
			when = p.Op.LastRun
		}
		setAttrs(&m.Attributes, map[string]string{
			"fail-count-" + suffix:   model.AddScores(old, p.FailCountAdd).String(),
			"last-failure-" + suffix: strconv.FormatInt(when, 10),
		})
	}
	return true, nil
}

// putOp replaces the record with op's ID, or appends op.
func putOp(rh *model.ResourceHistory, op model.OpRecord) {
	for j := range rh.Ops {
		if rh.Ops[j].ID == op.ID {
			rh.Ops[j] = op
			return
		}
	}
	rh.Ops = append(rh.Ops, op)
}

func (s *Store) failCountClear(p *FailCountClear) (bool, error) {
	if p.Resource == "" {
		return false, fmt.Errorf("%w: resource id to clear", ErrEmptyName)
	}
	var ms []*Member
	if p.Node != "" {
		m, err := s.member(p.Node)
		if err != nil {
			return false, err
		}
		ms = []*Member{m}
	} else {
		for _, n := range s.memberNames() {
			ms = append(ms, s.members[n])
		}
	}
	ids := s.cleanupIDs(p.Resource)
	changed := false
	for _, m := range ms {
		for k := range m.Attributes {
			for _, id := range ids {
				q := *p
				q.Resource = id
				if matchFailAttr(k, &q) {
					delete(m.Attributes, k)
					changed = true
					break
				}
			}
		}
		for _, id := range ids {
			if p.History {
				n := len(m.Resources)
				m.Resources = slices.DeleteFunc(m.Resources, func(r model.ResourceHistory) bool { return historyOf(r.ID, id) })
				changed = changed || len(m.Resources) != n
				continue
			}
			for i := range m.Resources {
				rh := &m.Resources[i]
				if !historyOf(rh.ID, id) {
					continue
				}
				n := len(rh.Ops)
				rh.Ops = slices.DeleteFunc(rh.Ops, func(o model.OpRecord) bool {
					return o.ID == rh.ID+"_last_failure_0" &&
						(p.Operation == "" || o.Operation == p.Operation && o.Interval == p.Interval)
				})
				changed = changed || len(rh.Ops) != n
			}
		}
	}
	return changed, nil
}

// cleanupIDs lists the resource ids a cleanup of id covers: id itself
// and, when the configuration names a group or clone so, every resource
// inside it (a clone's primitive, whose history holds its instances).
func (s *Store) cleanupIDs(id string) []string {
	ids := []string{id}
	var find func(rs []model.Resource) *model.Resource
	find = func(rs []model.Resource) *model.Resource {
		for i := range rs {
			if rs[i].ID == id {
				return &rs[i]
			}
			if r := find(rs[i].Children); r != nil {
				return r
			}
		}
		return nil
	}
	var walk func(rs []model.Resource)
	walk = func(rs []model.Resource) {
		for i := range rs {
			ids = append(ids, rs[i].ID)
			walk(rs[i].Children)
		}
	}
	if r := find(s.config.Resources); r != nil {
		walk(r.Children)
	}
	return ids
}

// historyOf reports whether history id hid belongs to resource id: the
// id itself, or one of its clone instances ("id:2").
func historyOf(hid, id string) bool {
	return hid == id || (strings.HasPrefix(hid, id+":") && !strings.Contains(hid[len(id)+1:], ":"))
}

// matchFailAttr reports whether k is a fail-count or last-failure attribute
// FailCountClear p removes: per operation ("fail-count-rsc#op_interval")
// or, from older histories, per resource ("fail-count-rsc").
func matchFailAttr(k string, p *FailCountClear) bool {
	var rest string
	switch {
	case strings.HasPrefix(k, "fail-count-"):
		rest = k[len("fail-count-"):]
	case strings.HasPrefix(k, "last-failure-"):
		rest = k[len("last-failure-"):]
	default:
		return false
	}
	if r, _, _ := strings.Cut(rest, "#"); r != p.Resource && historyOf(r, p.Resource) {
		rest = p.Resource + rest[len(r):] // an instance's: "id:1#op_0"
	}
	if rest == p.Resource {
		return true
	}
	if p.Operation != "" {
		return rest == failAttr(p.Resource, p.Operation, p.Interval)
	}
	return strings.HasPrefix(rest, p.Resource+"#")
}
