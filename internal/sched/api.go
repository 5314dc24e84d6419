package sched

import (
	"time"

	"github.com/paceline/paceline/internal/model"
)

// Input is everything the scheduler decides from. The scheduler never reads
// the clock: Now is the time failure-timeouts and date rules are evaluated
// at (Status.Now, when set, takes precedence, as Pacemaker's
// execution-date does).
type Input struct {
	Config *model.Config
	Status *model.Status
	Now    time.Time
	// Explain lists the resources whose placement Result.Explain should
	// explain (explanations cost time on large clusters).
	Explain []string
}

// Result is the scheduler's decision.
type Result struct {
	// Changes is the Transition Summary: one entry per resource or node
	// whose state changes, in Pacemaker's order.
	Changes []Change
	// Actions is the transition graph.
	Actions []*Action
	// Current and Revised describe the cluster before and after the
	// transition, for display.
	Current, Revised ClusterView
	// Explain holds the placement explanation of each resource named in
	// Input.Explain (and of their children).
	Explain map[string]*Explanation
	// Resources lists every resource id the scheduler knows, in order.
	Resources []string
	// Instances describes each primitive and clone instance by its
	// scheduler id, for the plan layer (see Instance).
	Instances map[string]*Instance
}
