package model

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrBadRule is wrapped by ParseRule's errors.
var ErrBadRule = errors.New("bad rule")

// ParseRule reads a rule in pcs's syntax:
//
//	defined|not_defined ATTR
//	ATTR lt|gt|lte|gte|eq|ne [string|integer|number|version] VALUE
//	date gt|lt DATE
//	date in_range DATE to DATE
//	date in_range DATE to duration KEY=VALUE...
//	date-spec KEY=VALUE...          (hours=9-16 weekdays=1-5 ...)
//	EXPR and EXPR, EXPR or EXPR, ( EXPR )
//
// "and" binds tighter than "or", as in pcs. ATTR may be a node attribute
// or #uname, #id, #kind. The result has no score: a location gives it one.
func ParseRule(text string) (Rule, error) {
	p := &ruleParser{toks: tokenizeRule(text)}
	if len(p.toks) == 0 {
		return Rule{}, fmt.Errorf("%w: empty", ErrBadRule)
	}
	r, err := p.or()
	if err != nil {
		return Rule{}, err
	}
	if !p.done() {
		return Rule{}, fmt.Errorf("%w: unexpected %q after a complete expression", ErrBadRule, p.peek())
	}
	return r, nil
}

// tokenizeRule splits on blanks, with parentheses as tokens of their own
// and "quoted values" kept whole.
func tokenizeRule(s string) []string {
	var toks []string
	var cur strings.Builder
	quoted := false
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case quoted:
			cur.WriteRune(r)
		case r == '(' || r == ')':
			flush()
			toks = append(toks, string(r))
		case r == ' ' || r == '\t' || r == '\n':
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return toks
}

type ruleParser struct {
	toks []string
	pos  int
}

func (p *ruleParser) done() bool { return p.pos >= len(p.toks) }

func (p *ruleParser) peek() string {
	if p.done() {
		return ""
	}
	return p.toks[p.pos]
}

func (p *ruleParser) next() (string, error) {
	if p.done() {
		return "", fmt.Errorf("%w: the expression ends too early", ErrBadRule)
	}
	p.pos++
	return p.toks[p.pos-1], nil
}

// or is and-expr ("or" and-expr)*.
func (p *ruleParser) or() (Rule, error) {
	return p.chain("or", p.and)
}

// and is primary ("and" primary)*.
func (p *ruleParser) and() (Rule, error) {
	return p.chain("and", p.primary)
}

// chain joins sub-expressions with op into one rule.
func (p *ruleParser) chain(op string, sub func() (Rule, error)) (Rule, error) {
	first, err := sub()
	if err != nil {
		return Rule{}, err
	}
	if p.peek() != op {
		return first, nil
	}
	r := Rule{BooleanOp: op}
	add := func(x Rule) {
		// A single condition joins directly; a compound one nests.
		if isSingle(x) {
			r.Expressions = append(r.Expressions, x.Expressions...)
			r.Dates = append(r.Dates, x.Dates...)
			return
		}
		r.Rules = append(r.Rules, x)
	}
	add(first)
	for p.peek() == op {
		p.pos++
		x, err := sub()
		if err != nil {
			return Rule{}, err
		}
		add(x)
	}
	return r, nil
}

func isSingle(r Rule) bool {
	return len(r.Rules) == 0 && len(r.Expressions)+len(r.Dates) == 1
}

var ruleOps = map[string]bool{"lt": true, "gt": true, "lte": true, "gte": true, "eq": true, "ne": true}

// primary is a parenthesized expression or one condition.
func (p *ruleParser) primary() (Rule, error) {
	t, err := p.next()
	if err != nil {
		return Rule{}, err
	}
	switch t {
	case "(":
		r, err := p.or()
		if err != nil {
			return Rule{}, err
		}
		if c, _ := p.next(); c != ")" {
			return Rule{}, fmt.Errorf("%w: missing )", ErrBadRule)
		}
		return r, nil
	case ")", "and", "or":
		return Rule{}, fmt.Errorf("%w: unexpected %q where a condition should start", ErrBadRule, t)
	case "defined", "not_defined":
		attr, err := p.next()
		if err != nil {
			return Rule{}, err
		}
		return Rule{Expressions: []Expr{{Attribute: attr, Operation: t}}}, nil
	case "date":
		return p.date()
	case "date-spec":
		spec, err := p.keyValues()
		if err != nil {
			return Rule{}, err
		}
		return Rule{Dates: []DateExpr{{Operation: "date_spec", Spec: spec}}}, nil
	}
	op, err := p.next()
	if err != nil {
		return Rule{}, err
	}
	if !ruleOps[op] {
		return Rule{}, fmt.Errorf("%w: %q after %s: want lt, gt, lte, gte, eq or ne", ErrBadRule, op, t)
	}
	e := Expr{Attribute: t, Operation: op}
	switch p.peek() {
	case "string", "integer", "number", "version":
		e.Type, _ = p.next()
	}
	if e.Value, err = p.next(); err != nil {
		return Rule{}, err
	}
	return Rule{Expressions: []Expr{e}}, nil
}

// date is what follows "date".
func (p *ruleParser) date() (Rule, error) {
	op, err := p.next()
	if err != nil {
		return Rule{}, err
	}
	switch op {
	case "gt", "lt":
		d, err := p.next()
		if err != nil {
			return Rule{}, err
		}
		de := DateExpr{Operation: op, Start: d}
		if op == "lt" {
			de = DateExpr{Operation: op, End: d}
		}
		return Rule{Dates: []DateExpr{de}}, nil
	case "in_range":
		start, err := p.next()
		if err != nil {
			return Rule{}, err
		}
		if to, _ := p.next(); to != "to" {
			return Rule{}, fmt.Errorf("%w: date in_range wants START to END", ErrBadRule)
		}
		de := DateExpr{Operation: op, Start: start}
		if p.peek() == "duration" {
			p.pos++
			if de.Duration, err = p.keyValues(); err != nil {
				return Rule{}, err
			}
		} else if de.End, err = p.next(); err != nil {
			return Rule{}, err
		}
		return Rule{Dates: []DateExpr{de}}, nil
	}
	return Rule{}, fmt.Errorf("%w: date %q: want gt, lt or in_range", ErrBadRule, op)
}

// keyValues reads key=value words up to the next non-key=value token.
func (p *ruleParser) keyValues() (map[string]string, error) {
	m := map[string]string{}
	for !p.done() {
		k, v, ok := strings.Cut(p.peek(), "=")
		if !ok {
			break
		}
		m[k] = v
		p.pos++
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("%w: want key=value options (hours=9-16, weekdays=1-5, months=1, ...)", ErrBadRule)
	}
	return m, nil
}

// FormatRule writes a rule in the syntax ParseRule reads (nested rules in
// parentheses; a rule's score is not part of it).
func FormatRule(r Rule) string {
	var parts []string
	for _, e := range r.Expressions {
		switch e.Operation {
		case "defined", "not_defined":
			parts = append(parts, e.Operation+" "+e.Attribute)
		default:
			p := e.Attribute + " " + e.Operation
			if e.Type != "" {
				p += " " + e.Type
			}
			v := e.Value
			if v == "" || strings.ContainsAny(v, " \t()") {
				v = `"` + v + `"`
			}
			parts = append(parts, p+" "+v)
		}
	}
	kvs := func(m map[string]string) string {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var out []string
		for _, k := range keys {
			out = append(out, k+"="+m[k])
		}
		return strings.Join(out, " ")
	}
	for _, d := range r.Dates {
		switch d.Operation {
		case "gt":
			parts = append(parts, "date gt "+d.Start)
		case "lt":
			parts = append(parts, "date lt "+d.End)
		case "in_range":
			if len(d.Duration) > 0 {
				parts = append(parts, "date in_range "+d.Start+" to duration "+kvs(d.Duration))
			} else {
				parts = append(parts, "date in_range "+d.Start+" to "+d.End)
			}
		case "date_spec":
			parts = append(parts, "date-spec "+kvs(d.Spec))
		}
	}
	for _, sub := range r.Rules {
		parts = append(parts, "("+FormatRule(sub)+")")
	}
	op := r.BooleanOp
	if op == "" {
		op = "and"
	}
	return strings.Join(parts, " "+op+" ")
}
