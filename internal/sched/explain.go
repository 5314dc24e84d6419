package sched

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// Explanation says, in plain words, where a resource may run, with each
// node's final score and where the score came from, and what was decided.
type Explanation struct {
	Resource string         `json:"resource"`
	Scores   []NodeScore    `json:"scores"`
	Notes    []string       `json:"notes"`
	Decision string         `json:"decision"`
	Children []*Explanation `json:"children,omitempty"`
}

// NodeScore is one node's final score for a resource.
type NodeScore struct {
	Node  string `json:"node"`
	Score string `json:"score"`
	// Available is false when the node cannot run resources at all.
	Available bool `json:"available"`
}

func (ws *workingSet) collectExplanations(r *resource, out map[string]*Explanation) *Explanation {
	e := &Explanation{Resource: r.id, Notes: append([]string(nil), r.explanations...)}
	nodes := ws.sortedNodes(r.allowed, nil)
	for _, w := range nodes {
		e.Scores = append(e.Scores, NodeScore{Node: w.n.name, Score: w.score.String(), Available: w.n.canRun()})
	}
	for _, n := range ws.nodes {
		if r.allowed.get(n) == nil {
			e.Notes = append(e.Notes, fmt.Sprintf("%s: not allowed (the cluster is opt-in and no constraint enables it)", n.name))
		}
		if !n.canRun() {
			e.Notes = append(e.Notes, fmt.Sprintf("%s: cannot run resources (%s)", n.name, nodeState(n)))
		}
	}
	if r.failed {
		e.Notes = append(e.Notes, "the resource has failed and needs recovery")
	}
	for _, n := range ws.nodes {
		if fc := ws.failCount(n, r, true); fc > 0 && r.variant == vPrimitive {
			e.Notes = append(e.Notes, fmt.Sprintf("%s: failed %s times, migration-threshold is %s", n.name, itoa(fc), itoa(r.migrationThreshold)))
		}
	}
	switch {
	case r.assigned != nil:
		e.Decision = fmt.Sprintf("placed on %s (role %s)", r.assigned.name, r.nextRole)
	case r.nextRoleReason != "":
		e.Decision = "not placed anywhere: " + r.nextRoleReason
	default:
		e.Decision = "not placed anywhere"
	}
	for _, c := range ws.resourceChanges(r) {
		if c.Resource == r.id {
			e.Decision += "; action: " + c.String()
		}
	}
	for _, c := range r.children {
		e.Children = append(e.Children, ws.collectExplanations(c, out))
	}
	out[r.id] = e
	return e
}

// Write prints the explanation.
func (e *Explanation) Write(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "Resource %s:\n", e.Resource)
	if len(e.Scores) > 0 {
		b.WriteString("  Node scores (best first):\n")
		for _, s := range e.Scores {
			note := ""
			if !s.Available {
				note = " (node cannot run resources)"
			}
			fmt.Fprintf(&b, "    %-20s %10s%s\n", s.Node, s.Score, note)
		}
	}
	if len(e.Notes) > 0 {
		b.WriteString("  Why:\n")
		notes := append([]string(nil), e.Notes...)
		sort.SliceStable(notes, func(i, j int) bool { return strings.SplitN(notes[i], ":", 2)[0] < strings.SplitN(notes[j], ":", 2)[0] })
		for _, n := range notes {
			fmt.Fprintf(&b, "    - %s\n", n)
		}
	}
	fmt.Fprintf(&b, "  Decision: %s\n", e.Decision)
	io.WriteString(w, b.String())
	for _, c := range e.Children {
		c.Write(w)
	}
}

var _ = model.Infinity
