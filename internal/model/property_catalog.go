package model

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Errors CheckProperty reports (test with errors.Is).
var (
	ErrUnknownProperty  = errors.New("unknown cluster property")
	ErrReadOnlyProperty = errors.New("read-only cluster property")
)

// PropertyType is the type of a cluster property's value.
type PropertyType string

const (
	PropBoolean    PropertyType = "boolean"    // true/false, yes/no, on/off, y/n, 1/0
	PropInteger    PropertyType = "integer"    // a whole number, maybe negative
	PropScore      PropertyType = "score"      // an integer, INFINITY or -INFINITY
	PropTime       PropertyType = "time"       // 30s, 500ms, 15min, 2h or ISO 8601 (PT15M): ParseTimeSpec
	PropSelect     PropertyType = "select"     // one of Values
	PropString     PropertyType = "string"     // anything
	PropPercentage PropertyType = "percentage" // 80%
)

// PropertyDef describes one cluster property.
type PropertyDef struct {
	Name    string       `json:"name"`
	Type    PropertyType `json:"type"`
	Default string       `json:"default,omitempty"`
	// Values are the allowed values of a select.
	Values []string `json:"values,omitempty"`
	// ReadOnly marks a property the cluster maintains (have-watchdog,
	// dc-version): set by the cluster, not by an operator.
	ReadOnly    bool   `json:"read_only,omitempty"`
	Description string `json:"description"`
}

// ClusterProperties are the cluster options Paceline knows, by name:
// Pacemaker 2.1's (scheduler, controller and fencer options) and
// Paceline's own (vm-ha, vm-ha-strategy), with their types, defaults and
// allowed values.
func ClusterProperties() []PropertyDef {
	b := func(name, def, desc string) PropertyDef {
		return PropertyDef{Name: name, Type: PropBoolean, Default: def, Description: desc}
	}
	i := func(name, def, desc string) PropertyDef {
		return PropertyDef{Name: name, Type: PropInteger, Default: def, Description: desc}
	}
	t := func(name, def, desc string) PropertyDef {
		return PropertyDef{Name: name, Type: PropTime, Default: def, Description: desc}
	}
	sc := func(name, def, desc string) PropertyDef {
		return PropertyDef{Name: name, Type: PropScore, Default: def, Description: desc}
	}
	sel := func(name, def, desc string, values ...string) PropertyDef {
		return PropertyDef{Name: name, Type: PropSelect, Default: def, Values: values, Description: desc}
	}
	ro := func(d PropertyDef) PropertyDef { d.ReadOnly = true; return d }
	return []PropertyDef{
		i("batch-limit", "0", "maximum number of operations the cluster runs in parallel, fencing aside (0: 64)"),
		t("cluster-delay", "60s", "maximum round-trip delay over the network, excluding action execution"),
		ro(PropertyDef{Name: "cluster-infrastructure", Type: PropString, Description: "the messaging layer the cluster runs on"}),
		i("cluster-ipc-limit", "500", "maximum IPC message backlog before a client is disconnected"),
		{Name: "cluster-name", Type: PropString, Description: "a name for the cluster"},
		t("cluster-recheck-interval", "15min", "interval at which time-based changes (rules, failure-timeout) are checked"),
		b("concurrent-fencing", "true", "allow fencing several nodes at once"),
		t("dc-deadtime", "20s", "how long to wait for a response from other nodes during start-up"),
		ro(PropertyDef{Name: "dc-version", Type: PropString, Description: "the version of the cluster's coordinator"}),
		t("election-timeout", "2min", "declare an election failed after this long"),
		b("enable-acl", "false", "enable access control lists"),
		b("enable-startup-probes", "true", "probe every resource on every node before starting anything"),
		sel("fence-reaction", "stop", "what a node does when told it was fenced", "stop", "panic"),
		ro(b("have-watchdog", "false", "whether watchdog-based self-fencing is available")),
		t("join-finalization-timeout", "30min", "how long to wait for a node to finish joining"),
		t("join-integration-timeout", "3min", "how long to wait for a node to be integrated"),
		ro(PropertyDef{Name: "last-lrm-refresh", Type: PropString, Description: "when resource history was last refreshed"}),
		{Name: "load-threshold", Type: PropPercentage, Default: "80%", Description: "the CPU load above which the cluster slows down"},
		b("maintenance-mode", "false", "leave every resource as it is: no starts, stops or monitors"),
		i("migration-limit", "-1", "number of live migrations a node may run at once (-1: unlimited)"),
		sel("no-quorum-policy", "stop", "what a partition without quorum does with its resources",
			"stop", "freeze", "ignore", "demote", "suicide"),
		i("node-action-limit", "0", "maximum number of actions a node runs at once (0: twice its cores)"),
		i("node-health-base", "0", "base score of every node under the progressive health strategy"),
		sc("node-health-green", "0", "score a green node health attribute adds"),
		sc("node-health-red", "-INFINITY", "score a red node health attribute adds"),
		sel("node-health-strategy", "none", "how node health attributes affect placement",
			"none", "migrate-on-red", "only-green", "progressive", "custom"),
		sc("node-health-yellow", "0", "score a yellow node health attribute adds"),
		t("node-pending-timeout", "0", "fence a node that joins but stays pending this long (0: never)"),
		i("pe-error-series-max", "-1", "scheduler inputs with errors kept (-1: all)"),
		i("pe-input-series-max", "4000", "scheduler inputs kept"),
		i("pe-warn-series-max", "5000", "scheduler inputs with warnings kept"),
		sel("placement-strategy", "default", "how utilization attributes place resources",
			"default", "utilization", "minimal", "balanced"),
		t("priority-fencing-delay", "0", "delay fencing of the node running the higher-priority resources by this"),
		t("shutdown-escalation", "20min", "give up on a graceful shutdown after this long"),
		b("shutdown-lock", "false", "keep resources of a cleanly shut down node stopped there until it returns"),
		t("shutdown-lock-limit", "0", "release a shutdown lock after this long (0: never)"),
		b("start-failure-is-fatal", "true", "a failed start bans the resource from the node (fail count INFINITY)"),
		b("startup-fencing", "true", "fence nodes not seen at start-up"),
		sel("stonith-action", "reboot", "how a node is fenced", "reboot", "off", "poweroff"),
		b("stonith-enabled", "true", "fence nodes that cannot be trusted; without it, recovery trusts leases alone"),
		i("stonith-max-attempts", "10", "fencing attempts on a target before giving up"),
		t("stonith-timeout", "60s", "how long to wait for a fencing action"),
		t("stonith-watchdog-timeout", "0", "how long until a node that lost quorum has been reset by its watchdog"),
		b("stop-all-resources", "false", "stop every resource"),
		b("stop-orphan-actions", "true", "cancel recurring operations no longer configured"),
		b("stop-orphan-resources", "true", "stop resources no longer configured"),
		b("symmetric-cluster", "true", "resources may run on any node unless a location constraint says otherwise"),
		t("transition-delay", "0s", "wait this long before running a transition"),
		b("two-node", "false", "two servers without a witness (paceline init --two-node): a third voter cannot join; docs/two-node.md"),
		b("vm-ha", "true", "VM high availability: NeverStop VMs are restarted, a lost host's VMs recovered or stopped by their storage"),
		sel("vm-ha-strategy", "Permissive", "when a lost host's VMs are recovered: Permissive once the host is fenced or confirmed down "+
			"(the host keeps its VMs when it loses its lease), Force after its lease (the host destroys them)", "Permissive", "Force"),
	}
}

// LookupProperty returns the definition of a cluster property.
func LookupProperty(name string) (PropertyDef, bool) {
	defs := ClusterProperties()
	i := slices.IndexFunc(defs, func(d PropertyDef) bool { return d.Name == name })
	if i < 0 {
		return PropertyDef{}, false
	}
	return defs[i], true
}

// CheckProperty checks a value for a cluster property: the name must be
// known (with a close match suggested when it is not), writable, and the
// value of its type. An empty value (removing the property) is always
// accepted for a writable property.
func CheckProperty(name, value string) error {
	d, ok := LookupProperty(name)
	if !ok {
		var names []string
		for _, d := range ClusterProperties() {
			names = append(names, d.Name)
		}
		if m := Closest(name, names); m != "" {
			return fmt.Errorf("%w %q (did you mean %s?)", ErrUnknownProperty, name, m)
		}
		return fmt.Errorf("%w %q ('paceline property list' shows them)", ErrUnknownProperty, name)
	}
	if d.ReadOnly {
		return fmt.Errorf("%w %q: the cluster sets it", ErrReadOnlyProperty, name)
	}
	if value == "" {
		return nil
	}
	bad := func(want string) error {
		return fmt.Errorf("%w %q for %s: want %s", ErrInvalidValue, value, name, want)
	}
	switch d.Type {
	case PropBoolean:
		switch strings.ToLower(value) {
		case "true", "false", "yes", "no", "on", "off", "y", "n", "1", "0":
		default:
			return bad("true or false")
		}
	case PropInteger:
		if _, err := strconv.Atoi(value); err != nil {
			return bad("an integer")
		}
	case PropScore:
		if _, err := ParseScore(value); err != nil {
			return bad("an integer, INFINITY or -INFINITY")
		}
	case PropTime:
		// As ClusterOptions reads it (ParseTimeSpec): a value it could not
		// read would silently be the default.
		if _, ok := ParseTimeSpec(value); !ok {
			return bad("a time such as 30s, 500ms, 15min, 2h or PT15M")
		}
	case PropPercentage:
		if n, err := strconv.Atoi(strings.TrimSuffix(value, "%")); err != nil || n < 0 || !strings.HasSuffix(value, "%") {
			return bad("a percentage such as 80%")
		}
	case PropSelect:
		if !slices.Contains(d.Values, value) {
			return bad("one of " + strings.Join(d.Values, ", "))
		}
	}
	return nil
}

// Closest returns the candidate nearest to word by edit distance (letter
// case ignored) when it is close enough to be a likely typo, or "".
func Closest(word string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := editDistance(strings.ToLower(word), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(2, len(word)/4) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
