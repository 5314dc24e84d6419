package sched

import (
	"fmt"
	"io"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// Explanation says, in plain words, where a resource may run: every node's
// final score with each contribution to it, other facts that shaped the
// decision, and the decision itself with its reason.
type Explanation struct {
	Resource string `json:"resource"`
	// Current is where the resource runs now ("" when stopped).
	Current string      `json:"current,omitempty"`
	Scores  []NodeScore `json:"scores"`
	Notes   []string    `json:"notes,omitempty"`
	// Decision is what happens to the resource and why.
	Decision string         `json:"decision"`
	Children []*Explanation `json:"children,omitempty"`
}

// NodeScore is one node's final score for a resource and its parts.
type NodeScore struct {
	Node  string `json:"node"`
	Score string `json:"score"`
	// Available is false when the node cannot run resources at all;
	// Reason then says why.
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"`
	// Contributions list what was added to the score, in order.
	Contributions []string `json:"contributions,omitempty"`
	Chosen        bool     `json:"chosen,omitempty"`
}

func signed(s model.Score) string {
	if s >= 0 {
		return "+" + s.String()
	}
	return s.String()
}

func (ws *workingSet) collectExplanations(r *resource, out map[string]*Explanation) *Explanation {
	e := &Explanation{Resource: r.id, Notes: append([]string(nil), r.explanations...)}
	if cur := r.current(); cur != nil {
		e.Current = cur.name
	}
	byNode := map[*node][]string{}
	for _, c := range r.contribs {
		byNode[c.node] = append(byNode[c.node], fmt.Sprintf("%s %s", signed(c.score), c.why))
	}
	for _, w := range ws.sortedNodes(r.allowed, r.current()) {
		ns := NodeScore{Node: w.n.name, Score: w.score.String(), Available: w.n.canRun(),
			Contributions: byNode[w.n], Chosen: r.assigned == w.n}
		if !ns.Available {
			ns.Reason = "node is " + nodeState(w.n)
		}
		if w.n.score != 0 {
			ns.Contributions = append([]string{signed(w.n.score) + " node score"}, ns.Contributions...)
		}
		e.Scores = append(e.Scores, ns)
	}
	for _, n := range ws.nodes {
		if r.allowed.get(n) == nil && r.variant != vGroup {
			e.Notes = append(e.Notes, fmt.Sprintf("%s is not allowed: the cluster is opt-in (symmetric-cluster=false) and no location constraint enables it", n.name))
		}
	}
	if r.variant == vPrimitive {
		for _, n := range ws.nodes {
			if fc := ws.failCount(n, r, true); fc > 0 {
				e.Notes = append(e.Notes, fmt.Sprintf("failed %s time(s) on %s; migration-threshold is %s", itoa(fc), n.name, itoa(r.migrationThreshold)))
			}
		}
		if r.failed {
			e.Notes = append(e.Notes, "it has failed and must be recovered")
		}
		if !r.managed {
			e.Notes = append(e.Notes, "it is not managed: the cluster leaves it as it is")
		}
	}
	e.Decision = ws.decision(r)
	for _, c := range r.children {
		e.Children = append(e.Children, ws.collectExplanations(c, out))
	}
	out[r.id] = e
	return e
}

// decision describes what happens to r and why, in one sentence.
func (ws *workingSet) decision(r *resource) string {
	var actions []string
	for _, c := range ws.resourceChanges(r) {
		if c.Resource == r.id {
			line := strings.Join(strings.Fields(c.String()), " ")
			actions = append(actions, line)
		}
	}
	var where string
	switch {
	case r.assigned != nil:
		where = fmt.Sprintf("it is placed on %s (role %s)", r.assigned.name, r.nextRole)
		if w := r.allowed.get(r.assigned); w != nil {
			where += fmt.Sprintf(", the best node with score %s", w.score)
		}
	case r.variant != vPrimitive:
		where = "see its members"
	case r.nextRoleReason != "":
		where = "it is not placed anywhere: " + r.nextRoleReason
	default:
		where = "it is not placed anywhere"
	}
	if cur := r.current(); cur != nil && r.assigned != nil && cur != r.assigned {
		if !cur.canRun() {
			where += fmt.Sprintf("; %s, where it runs now, cannot run resources (%s)", cur.name, nodeState(cur))
		} else if w := r.allowed.get(cur); w != nil {
			where += fmt.Sprintf("; %s, where it runs now, scores %s", cur.name, w.score)
		}
	}
	if len(actions) == 0 {
		if r.variant == vPrimitive {
			return where + "; nothing to do"
		}
		return where
	}
	return where + "; action: " + strings.Join(actions, "; ")
}

// Write prints the explanation.
func (e *Explanation) Write(w io.Writer) {
	var b strings.Builder
	if e.Current != "" {
		fmt.Fprintf(&b, "Resource %s (now on %s):\n", e.Resource, e.Current)
	} else {
		fmt.Fprintf(&b, "Resource %s (now stopped):\n", e.Resource)
	}
	if len(e.Scores) > 0 {
		b.WriteString("  Node scores, best first:\n")
		for _, s := range e.Scores {
			mark := ""
			if s.Chosen {
				mark = "  <- chosen"
			}
			note := ""
			if !s.Available {
				note = " (" + s.Reason + ", cannot run resources)"
			}
			fmt.Fprintf(&b, "    %s: %s%s%s\n", s.Node, s.Score, note, mark)
			for _, c := range s.Contributions {
				fmt.Fprintf(&b, "        %s\n", c)
			}
		}
	}
	for _, n := range e.Notes {
		fmt.Fprintf(&b, "  - %s\n", n)
	}
	fmt.Fprintf(&b, "  Decision: %s\n", e.Decision)
	io.WriteString(w, b.String())
	for _, c := range e.Children {
		c.Write(w)
	}
}
