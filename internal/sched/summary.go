package sched

import (
	"fmt"
	"io"
	"strings"
)

// Change is one line of the Transition Summary.
type Change struct {
	// Action is Start, Stop, Move, Recover, Restart, Promote, Demote,
	// Migrate, Reload, Re-promote, Fence or Shutdown.
	Action   string `json:"action"`
	Resource string `json:"resource,omitempty"`
	// From and To are the nodes before and after (empty when none).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// FromRole and ToRole are the roles before and after; they are shown
	// for promotable clone instances (NeedRole).
	FromRole string `json:"from_role,omitempty"`
	ToRole   string `json:"to_role,omitempty"`
	NeedRole bool   `json:"-"`
	// Reason explains a change ("node availability"); Blocked says the
	// action cannot run.
	Reason  string `json:"reason,omitempty"`
	Blocked bool   `json:"blocked,omitempty"`
	// FenceAction is reboot, off or on for Fence.
	FenceAction string `json:"fence_action,omitempty"`
}

// details renders the part between parentheses exactly as crm_simulate
// does for each combination of origin, destination and role.
func (c Change) details() string {
	sameHost := c.From != "" && c.To != "" && c.From == c.To
	sameRole := c.FromRole == c.ToRole
	switch {
	case c.NeedRole && c.From == "":
		return fmt.Sprintf("%s -> %s %s", c.FromRole, c.ToRole, c.To)
	case c.From == "":
		return c.To
	case c.NeedRole && c.To == "":
		return fmt.Sprintf("%s %s", c.FromRole, c.From)
	case c.To == "":
		return c.From
	case c.NeedRole && sameRole && sameHost:
		return fmt.Sprintf("%s %s", c.FromRole, c.From)
	case sameRole && sameHost:
		return c.From
	case c.NeedRole && sameRole:
		return fmt.Sprintf("%s -> %s %s", c.From, c.To, c.FromRole)
	case sameRole:
		return fmt.Sprintf("%s -> %s", c.From, c.To)
	case sameHost:
		return fmt.Sprintf("%s -> %s %s", c.FromRole, c.ToRole, c.From)
	}
	return fmt.Sprintf("%s %s -> %s %s", c.FromRole, c.From, c.ToRole, c.To)
}

// String renders the change as one Transition Summary line without the
// leading "  * ".
func (c Change) String() string {
	return c.format(len(c.Resource), 0)
}

func (c Change) format(rscWidth, detailWidth int) string {
	if c.Action == "Fence" && c.Resource != "" {
		return fmt.Sprintf("Fence (%s) %s (resource: %s) '%s'", c.FenceAction, c.To, c.Resource, c.Reason)
	}
	if c.Action == "Fence" {
		return fmt.Sprintf("Fence (%s) %s '%s'", c.FenceAction, c.To, c.Reason)
	}
	if c.Action == "Shutdown" {
		return fmt.Sprintf("Shutdown %s", c.To)
	}
	reason := ""
	switch {
	case c.Reason != "" && c.Blocked:
		reason = "due to " + c.Reason + " (blocked)"
	case c.Reason != "":
		reason = "due to " + c.Reason
	case c.Blocked:
		reason = "blocked"
	}
	line := fmt.Sprintf("%-8s   %-*s   ( %*s )", c.Action, rscWidth, c.Resource, detailWidth, c.details())
	if reason != "" {
		line += "  " + reason
	}
	return line
}

// WriteSummary writes the "Transition Summary:" section in crm_simulate's
// format, column widths included (they grow with the lines printed so far,
// as crm_simulate's do).
func WriteSummary(w io.Writer, changes []Change) {
	rscWidth, detailWidth := 5, 5
	var b strings.Builder
	b.WriteString("Transition Summary:\n")
	for _, c := range changes {
		if c.Action != "Fence" && c.Action != "Shutdown" {
			if n := len(c.Resource); n > rscWidth {
				rscWidth = n + 2
			}
			if n := len(c.details()); n > detailWidth {
				detailWidth = n
			}
		}
		b.WriteString("  * ")
		b.WriteString(c.format(rscWidth, detailWidth))
		b.WriteString("\n")
	}
	io.WriteString(w, b.String())
}
