package sched

import (
	"strconv"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// ruleContext is what a rule is evaluated against (Pacemaker's
// pe_rule_eval_data_t). A missing part makes the expressions that need it
// fail: attribute expressions without a node, rsc_expression without an
// agent, op_expression without an operation.
type ruleContext struct {
	node *node
	// rsc supplies value-source param/meta values; submatch holds
	// rsc-pattern groups.
	rsc      *resource
	submatch []string
	// agent is the resource whose class, provider and type an
	// rsc_expression tests (rsc_defaults and meta_attributes).
	agent *model.Resource
	// op is the operation an op_expression tests (op_defaults).
	op *opRef
}

// opRef names one operation for op_expression.
type opRef struct {
	name       string
	intervalMS int64
}

// evalRule evaluates a rule for node n (nil: no node context) and resource
// r (for value-source param/meta). submatch holds rsc-pattern groups.
func (ws *workingSet) evalRule(rule *model.Rule, n *node, r *resource, submatch []string) bool {
	return ws.evalRuleIn(rule, ruleContext{node: n, rsc: r, submatch: submatch})
}

// evalRuleIn evaluates a rule in context c (Pacemaker's pe_eval_expr).
func (ws *workingSet) evalRuleIn(rule *model.Rule, c ruleContext) bool {
	if rule.Unsupported != "" {
		return false
	}
	or := strings.EqualFold(rule.BooleanOp, "or")
	any := false
	total := 0
	check := func(ok bool) (bool, bool) {
		total++
		if or && ok {
			return true, true
		}
		if !or && !ok {
			return false, true
		}
		if ok {
			any = true
		}
		return false, false
	}
	for i := range rule.Expressions {
		if v, done := check(c.node != nil && ws.evalExpr(&rule.Expressions[i], c.node, c.rsc, c.submatch)); done {
			return v
		}
	}
	for i := range rule.Dates {
		if v, done := check(ws.evalDate(&rule.Dates[i])); done {
			return v
		}
	}
	for i := range rule.Agents {
		if v, done := check(agentMatches(&rule.Agents[i], c.agent)); done {
			return v
		}
	}
	for i := range rule.Operations {
		if v, done := check(opMatches(&rule.Operations[i], c.op)); done {
			return v
		}
	}
	for i := range rule.Rules {
		if v, done := check(ws.evalRuleIn(&rule.Rules[i], c)); done {
			return v
		}
	}
	if total == 0 {
		// An empty rule matches (Pacemaker treats it as passed).
		return true
	}
	if or {
		return any
	}
	return true
}

// agentMatches evaluates an rsc_expression against resource r (nil: no
// resource data, no match). A group or clone has no agent, so only an
// expression naming nothing matches it.
func agentMatches(e *model.AgentExpr, r *model.Resource) bool {
	if r == nil {
		return false
	}
	var class, provider, typ string
	if r.Kind == model.KindPrimitive || r.Kind == "" {
		class, provider, typ = r.Class, r.Provider, r.Type
	}
	if e.Class != "" && e.Class != class {
		return false
	}
	if e.Provider != provider {
		return false
	}
	return e.Type == "" || e.Type == typ
}

// opMatches evaluates an op_expression against operation o (nil: no
// operation data, no match).
func opMatches(e *model.OpExpr, o *opRef) bool {
	if o == nil {
		return false
	}
	if e.Interval != "" {
		ms, ok := intervalSpecMS(e.Interval)
		if !ok || ms != o.intervalMS {
			return false
		}
	}
	return e.Name == o.name
}

func (ws *workingSet) evalExpr(e *model.Expr, n *node, r *resource, submatch []string) bool {
	var have bool
	var left string
	if n != nil {
		left, have = n.attr(e.Attribute)
	}
	right := e.Value
	switch strings.ToLower(e.ValueSource) {
	case "param":
		// The resource's parameters as they apply on this node.
		right = ""
		if r != nil && r.cfg != nil {
			right = ws.params(r, n)[e.Value]
		}
	case "meta":
		right = ""
		if r != nil {
			right = r.meta[e.Value]
		}
	}
	if len(submatch) > 0 && strings.Contains(right, "%") {
		for i := len(submatch) - 1; i >= 0; i-- {
			right = strings.ReplaceAll(right, "%"+strconv.Itoa(i), submatch[i])
		}
	}
	op := strings.ToLower(e.Operation)
	switch op {
	case "defined":
		return have
	case "not_defined":
		return !have
	}
	if !have {
		// Comparisons with a missing attribute: only "ne" matches.
		return op == "ne"
	}
	typ := strings.ToLower(e.Type)
	if typ == "" {
		switch op {
		case "lt", "lte", "gt", "gte":
			if strings.Contains(left, ".") || strings.Contains(right, ".") {
				typ = "number"
			} else {
				typ = "integer"
			}
		default:
			typ = "string"
		}
	}
	cmp := compareValues(left, right, typ)
	switch op {
	case "eq":
		return cmp == 0
	case "ne":
		return cmp != 0
	case "lt":
		return cmp < 0
	case "lte":
		return cmp <= 0
	case "gt":
		return cmp > 0
	case "gte":
		return cmp >= 0
	}
	return false
}

func compareValues(a, b, typ string) int {
	switch typ {
	case "integer":
		x, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
		y, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
		if err1 == nil && err2 == nil {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
		// Pacemaker parses a leading integer of decimals ("3.5" -> 3).
		if fx, e1 := strconv.ParseFloat(strings.TrimSpace(a), 64); e1 == nil {
			if fy, e2 := strconv.ParseFloat(strings.TrimSpace(b), 64); e2 == nil {
				x, y := int64(fx), int64(fy)
				switch {
				case x < y:
					return -1
				case x > y:
					return 1
				}
				return 0
			}
		}
	case "number":
		x, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
		y, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
		if err1 == nil && err2 == nil {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	case "version":
		return compareVersion(a, b)
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

func compareVersion(a, b string) int {
	pa := strings.Split(a, ".")
	pb := strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// parseDate reads the ISO 8601 forms Pacemaker accepts.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	layouts := []string{
		"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05Z", "2006-01-02T15:04:05",
		"2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05Z", "2006-01-02 15:04:05",
		"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02",
		// An offset after a space ("2019-09-23 12:30:00 -05:00"), as
		// Pacemaker's crm_time_parse reads it.
		"2006-01-02 15:04:05 -07:00", "2006-01-02T15:04:05 -07:00",
		"2006-01-02 15:04:05 -0700", "2006-01-02T15:04:05 -0700",
		"2006-01-02 15:04:05 -07", "2006-01-02T15:04:05 -07",
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	// Ordinal date YYYY-DDD.
	if len(s) >= 8 && s[4] == '-' {
		y, e1 := strconv.Atoi(s[:4])
		d, e2 := strconv.Atoi(s[5:8])
		if e1 == nil && e2 == nil {
			t := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d-1)
			return t, true
		}
	}
	return time.Time{}, false
}

func addDuration(t time.Time, d map[string]string) time.Time {
	get := func(k string) int {
		v, _ := strconv.Atoi(d[k])
		return v
	}
	return t.AddDate(get("years"), get("months"), get("weeks")*7+get("days")).
		Add(time.Duration(get("hours"))*time.Hour + time.Duration(get("minutes"))*time.Minute + time.Duration(get("seconds"))*time.Second)
}

func (ws *workingSet) evalDate(d *model.DateExpr) bool {
	now := time.Unix(ws.now, 0).UTC()
	switch strings.ToLower(d.Operation) {
	case "gt":
		s, ok := parseDate(d.Start)
		return ok && now.After(s)
	case "lt":
		e, ok := parseDate(d.End)
		return ok && now.Before(e)
	case "in_range", "":
		if d.Start != "" {
			s, ok := parseDate(d.Start)
			if !ok || now.Before(s) {
				return false
			}
			if d.End == "" && len(d.Duration) > 0 {
				if now.After(addDuration(s, d.Duration)) {
					return false
				}
			}
		}
		if d.End != "" {
			e, ok := parseDate(d.End)
			if !ok || now.After(e) {
				return false
			}
		}
		return true
	case "date_spec":
		return dateSpecMatches(now, d.Spec)
	}
	return false
}

func inRangeSpec(v int, spec string) bool {
	if spec == "" {
		return true
	}
	if i := strings.IndexByte(spec, '-'); i > 0 {
		lo, _ := strconv.Atoi(spec[:i])
		hi, _ := strconv.Atoi(spec[i+1:])
		return v >= lo && v <= hi
	}
	x, err := strconv.Atoi(spec)
	return err == nil && x == v
}

func dateSpecMatches(t time.Time, spec map[string]string) bool {
	wd := int(t.Weekday())
	if wd == 0 {
		wd = 7
	}
	_, week := t.ISOWeek()
	checks := []struct {
		k string
		v int
	}{
		{"seconds", t.Second()}, {"minutes", t.Minute()}, {"hours", t.Hour()},
		{"monthdays", t.Day()}, {"weekdays", wd}, {"yeardays", t.YearDay()},
		{"months", int(t.Month())}, {"weeks", week}, {"years", t.Year()},
	}
	for _, c := range checks {
		if !inRangeSpec(c.v, spec[c.k]) {
			return false
		}
	}
	return true
}
