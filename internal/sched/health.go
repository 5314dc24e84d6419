package sched

import (
	"sort"
	"strings"

	"github.com/paceline/paceline/internal/model"
)

// Node health.
//
// Node attributes whose names start with "#health" report a node's health
// as a score or as one of the colours red, yellow and green. With
// node-health-strategy set to anything but none, each node's health is
// the sum of those attributes (plus node-health-base for progressive),
// and a non-zero sum becomes a location score on that node for every
// top-level resource. Negative health spares resources with
// allow-unhealthy-nodes=true.
//
// What a colour is worth depends on the strategy:
//
//	strategy        red         yellow      green
//	migrate-on-red  -INFINITY   0           0
//	only-green      -INFINITY   -INFINITY   0
//	progressive,    node-health-red, -yellow and -green
//	custom          (defaults -INFINITY, 0, 0)

// healthStrategy is a parsed node-health-strategy.
type healthStrategy int

const (
	healthNone healthStrategy = iota
	healthMigrateOnRed
	healthOnlyGreen
	healthProgressive
	healthCustom
)

func parseHealthStrategy(s string) healthStrategy {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "migrate-on-red":
		return healthMigrateOnRed
	case "only-green":
		return healthOnlyGreen
	case "progressive":
		return healthProgressive
	case "custom":
		return healthCustom
	}
	return healthNone
}

// healthColours are the scores of red, yellow and green.
type healthColours struct{ red, yellow, green model.Score }

func (ws *workingSet) healthColours(s healthStrategy) healthColours {
	switch s {
	case healthNone:
		return healthColours{}
	case healthMigrateOnRed:
		return healthColours{red: -model.Infinity}
	case healthOnlyGreen:
		return healthColours{red: -model.Infinity, yellow: -model.Infinity}
	}
	opt := func(name string, def model.Score) model.Score {
		if v, ok := ws.props[name]; ok {
			return scoreOf(v)
		}
		return def
	}
	return healthColours{
		red:    opt("node-health-red", -model.Infinity),
		yellow: opt("node-health-yellow", 0),
		green:  opt("node-health-green", 0),
	}
}

// score reads a health attribute value: a colour or a score.
func (c healthColours) score(v string) model.Score {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "red":
		return c.red
	case "yellow":
		return c.yellow
	case "green":
		return c.green
	}
	return scoreOf(v)
}

// nodeHealth sums the node's #health attributes onto base.
func nodeHealth(n *node, c healthColours, base model.Score) model.Score {
	names := make([]string, 0, len(n.attrs))
	for k := range n.attrs {
		if strings.HasPrefix(k, "#health") {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	health := base
	for _, k := range names {
		health = model.AddScores(c.score(n.attrs[k]), health)
	}
	return health
}

// healthLocations turns node health into location constraints, one per
// resource and unhealthy (or extra healthy) node (pcmk__apply_node_health).
func (ws *workingSet) healthLocations() []*location {
	name := ws.props["node-health-strategy"]
	strategy := parseHealthStrategy(name)
	if strategy == healthNone {
		return nil
	}
	colours := ws.healthColours(strategy)
	var base model.Score
	if strategy == healthProgressive {
		base = scoreOf(ws.props["node-health-base"])
	}
	var out []*location
	for _, n := range ws.nodes {
		health := nodeHealth(n, colours, base)
		if health == 0 {
			continue
		}
		for _, r := range ws.resources {
			if health < 0 && isTrue(r.meta["allow-unhealthy-nodes"]) {
				continue
			}
			out = append(out, &location{id: "node-health-strategy " + name, rsc: r, nodes: []weightedNode{{n, health}}})
		}
	}
	return out
}
