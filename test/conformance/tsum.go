// Package conformance checks Paceline's scheduler against Pacemaker 2.1.5's
// own scheduler regression suite (../shared/conformance, outside this
// repository; the tests skip with a notice when it is absent).
//
// For each case the test imports the CIB with cib.ParseFile, schedules it
// with sched.Schedule, renders the Transition Summary with
// sched.WriteSummary and compares it with Pacemaker's summary file as a
// multiset of normalised tuples. tsum.go is the Go twin of the corpus's
// tsum.py (its parser and comparison, without the command line);
// tsum_test.go checks that both parse every summary of the corpus alike.
//
// Run one case verbosely:
//
//	CONFORMANCE_CASE=NAME go test ./test/conformance -run TestConformance -v
//
// Per-tier minimum pass counts live in floors.txt; the test fails when a
// tier drops below its floor. Results go to out/conformance.txt.
package conformance

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// Tuple is one Transition Summary line, normalised as tsum.py does.
type Tuple struct {
	// Action is Start, Stop, Move, Recover, Restart, Promote, Demote,
	// Migrate, Reload, Re-promote, Fence, Shutdown, or "?" for a line of
	// unknown format (then Resource holds the whole line).
	Action string
	// Resource is the resource id; "" for node actions, the container
	// resource for the fencing of a guest node.
	Resource string
	// From and To are the source and target node ("" when not
	// applicable).
	From, To string
	// Extra is the role ("Promoted") or role change
	// ("Unpromoted->Promoted"), or the fencing action for Fence.
	Extra string
	// Reason is the trailing reason, only with Options.Reasons.
	Reason string
}

// Options selects how tuples are built (tsum.py's --reasons and
// --no-instance).
type Options struct {
	// Reasons keeps the whitespace-normalised reason text in Tuple.Reason.
	Reasons bool
	// NoInstance strips clone instance suffixes (":N") from resource ids.
	NoInstance bool
}

var resourceActions = []string{"Start", "Stop", "Move", "Recover", "Restart",
	"Promote", "Demote", "Migrate", "Reload", "Re-promote"}

var roleAliases = map[string]string{"Master": "Promoted", "Slave": "Unpromoted"}

var roles = map[string]bool{"Unknown": true, "Stopped": true, "Started": true,
	"Unpromoted": true, "Promoted": true, "Master": true, "Slave": true}

const sectionHeader = "Transition Summary:"

var (
	rscLine = regexp.MustCompile(`^\s*\*\s+(` + quoteAll(resourceActions) +
		`)\s+(\S+)\s+\(\s*([^()]*?)\s*\)\s*(.*?)\s*$`)
	fenceLine = regexp.MustCompile(`^\s*\*\s+Fence\s+\(([^)]*)\)\s+(\S+)` +
		`(?:\s+\(resource:\s*([^)]*?)\s*\))?\s*(.*?)\s*$`)
	shutdownLine   = regexp.MustCompile(`^\s*\*\s+Shutdown\s+(\S+)\s*(.*?)\s*$`)
	instanceSuffix = regexp.MustCompile(`:\d+$`)
)

func quoteAll(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = regexp.QuoteMeta(w)
	}
	return strings.Join(q, "|")
}

func role(token string) string {
	if r, ok := roleAliases[token]; ok {
		return r
	}
	return token
}

// splitLines splits like Python's str.splitlines.
func splitLines(text string) []string {
	var lines []string
	start := 0
	rs := []rune(text)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '\r':
			lines = append(lines, string(rs[start:i]))
			if i+1 < len(rs) && rs[i+1] == '\n' {
				i++
			}
			start = i + 1
		case '\n', '\v', '\f', '\x1c', '\x1d', '\x1e', '\u0085', '\u2028', '\u2029':
			lines = append(lines, string(rs[start:i]))
			start = i + 1
		}
	}
	if start < len(rs) {
		lines = append(lines, string(rs[start:]))
	}
	return lines
}

// ExtractSection returns the item lines of the Transition Summary section
// of text, and false if text has no such section.
func ExtractSection(text string) ([]string, bool) {
	lines := splitLines(text)
	i := 0
	for ; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == sectionHeader {
			break
		}
	}
	if i == len(lines) {
		return nil, false
	}
	items := []string{}
	for _, line := range lines[i+1:] {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !unicode.IsSpace([]rune(line)[0]) {
			break // next section header, or an unindented message
		}
		if strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "*") {
			items = append(items, line)
		}
	}
	return items, true
}

// errDetails marks details text of no known shape.
type errDetails struct{ details string }

func (e errDetails) Error() string { return "unparsable details: " + e.details }

// parseDetails turns the text between "( " and " )" into source, target
// and extra.
func parseDetails(action, details string) (src, dst, extra string, err error) {
	var left, right []string
	hasArrow := false
	if l, r, ok := strings.Cut(details, "->"); ok {
		left, right, hasArrow = strings.Fields(l), strings.Fields(r), true
	} else {
		left = strings.Fields(details)
	}
	if !hasArrow {
		var r, node string
		switch {
		case len(left) == 1:
			node = left[0]
		case len(left) == 2 && roles[left[0]]:
			r, node = role(left[0]), left[1]
		default:
			return "", "", "", errDetails{details}
		}
		switch action {
		case "Start":
			return "", node, r, nil
		case "Stop":
			return node, "", r, nil
		}
		return node, node, r, nil
	}
	switch {
	case len(left) == 1 && len(right) == 1: // n1 -> n2
		return left[0], right[0], "", nil
	case len(left) == 1 && len(right) == 2 && roles[left[0]] && roles[right[0]]: // R1 -> R2 node
		r1, r2, node := role(left[0]), role(right[0]), right[1]
		src, dst := node, node
		if r1 == "Stopped" || action == "Start" {
			src = ""
		}
		if r2 == "Stopped" {
			dst = ""
		}
		return src, dst, r1 + "->" + r2, nil
	case len(left) == 1 && len(right) == 2 && roles[right[1]]: // n1 -> n2 ROLE
		return left[0], right[0], role(right[1]), nil
	case len(left) == 2 && len(right) == 2 && roles[left[0]] && roles[right[0]]: // R1 n1 -> R2 n2
		return left[1], right[1], role(left[0]) + "->" + role(right[0]), nil
	}
	return "", "", "", errDetails{details}
}

// rawParse returns the tuple with its raw reason for one item line.
func rawParse(line string) Tuple {
	if m := rscLine.FindStringSubmatch(line); m != nil {
		if src, dst, extra, err := parseDetails(m[1], m[3]); err == nil {
			return Tuple{Action: m[1], Resource: m[2], From: src, To: dst, Extra: extra, Reason: m[4]}
		}
	}
	if m := fenceLine.FindStringSubmatch(line); m != nil {
		return Tuple{Action: "Fence", Resource: m[3], To: m[2], Extra: m[1], Reason: m[4]}
	}
	if m := shutdownLine.FindStringSubmatch(line); m != nil {
		return Tuple{Action: "Shutdown", To: m[1], Reason: m[2]}
	}
	// Unknown format: keep the whole line so that comparisons still work.
	s := strings.TrimLeft(strings.TrimSpace(line), "*")
	return Tuple{Action: "?", Resource: strings.Join(strings.Fields(s), " ")}
}

func cleanReason(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if len(text) >= 2 && text[0] == '\'' && text[len(text)-1] == '\'' {
		text = text[1 : len(text)-1]
	}
	return text
}

// ParseLine parses one Transition Summary item line into a normalised
// tuple.
func ParseLine(line string, opts Options) Tuple {
	t := rawParse(line)
	if opts.NoInstance && t.Action != "?" {
		t.Resource = instanceSuffix.ReplaceAllString(t.Resource, "")
	}
	if opts.Reasons {
		t.Reason = cleanReason(t.Reason)
	} else {
		t.Reason = ""
	}
	return t
}

// ParseSummary returns the tuples of the Transition Summary in text, and
// false if text has no Transition Summary section.
func ParseSummary(text string, opts Options) ([]Tuple, bool) {
	items, ok := ExtractSection(text)
	if !ok {
		return nil, false
	}
	tuples := make([]Tuple, len(items))
	for i, line := range items {
		tuples[i] = ParseLine(line, opts)
	}
	return tuples, true
}

// fields returns the tuple's elements as tsum.py's tuple has them.
func (t Tuple) fields(opts Options) []string {
	f := []string{t.Action, t.Resource, t.From, t.To, t.Extra}
	if opts.Reasons {
		f = append(f, t.Reason)
	}
	return f
}

// format renders a tuple as tsum.py's fmt does: tab-separated, "-" for
// empty elements.
func (t Tuple) format(opts Options) string {
	f := t.fields(opts)
	for i, x := range f {
		if x == "" {
			f[i] = "-"
		}
	}
	return strings.Join(f, "\t")
}

// less orders tuples as Python orders tuples of strings.
func less(a, b []string) bool {
	for i := range a {
		if i >= len(b) {
			return false
		}
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// CompareTexts compares two summaries as multisets of tuples. It returns
// whether they are equal, and messages: "- tuple" for tuples only in the
// expected text, "+ tuple" for tuples only in the actual text, as tsum.py
// compare prints them.
func CompareTexts(expected, actual string, opts Options) (bool, []string) {
	exp, expOK := ParseSummary(expected, opts)
	act, actOK := ParseSummary(actual, opts)
	if !expOK && !actOK {
		return true, []string{"no Transition Summary section in either input"}
	}
	var msgs []string
	if !expOK {
		msgs = append(msgs, "no Transition Summary section in expected input")
	} else if !actOK {
		msgs = append(msgs, "no Transition Summary section in actual input")
	}
	count := func(ts []Tuple) map[Tuple]int {
		c := map[Tuple]int{}
		for _, t := range ts {
			c[t]++
		}
		return c
	}
	expC, actC := count(exp), count(act)
	for _, side := range []struct {
		sign     string
		from, to map[Tuple]int
	}{{"-", expC, actC}, {"+", actC, expC}} {
		var diff []Tuple
		n := map[Tuple]int{}
		for t, c := range side.from {
			if d := c - side.to[t]; d > 0 {
				diff = append(diff, t)
				n[t] = d
			}
		}
		sort.Slice(diff, func(i, j int) bool { return less(diff[i].fields(opts), diff[j].fields(opts)) })
		for _, t := range diff {
			m := side.sign + " " + t.format(opts)
			if n[t] > 1 {
				m += fmt.Sprintf("  (x%d)", n[t])
			}
			msgs = append(msgs, m)
		}
	}
	return len(msgs) == 0, msgs
}
