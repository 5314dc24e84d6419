package fence

import (
	"fmt"
	"sort"
	"strings"
)

// Level is one fencing level of a target (Pacemaker's fencing-topology
// entry): every device of the level must succeed for the level to fence
// the target.
type Level struct {
	// Target is the node the level fences.
	Target string
	// Index orders the levels of a target: 1 is tried first.
	Index int
	// Devices are the device IDs, all of which must succeed, in order.
	Devices []string
}

// Stage is one level of the sequence the fencer tries for a target.
type Stage struct {
	// Level is the configured level's index; 0 for the implicit
	// one-device stages of a target without levels.
	Level int
	// Devices must all succeed.
	Devices []string
}

// Stages returns what the fencer tries for target, in order: the target's
// levels by index; without levels, one stage per device that can fence it
// (capable, in the order given).
func Stages(target string, levels []Level, capable []string) []Stage {
	var own []Level
	for _, l := range levels {
		if l.Target == target {
			own = append(own, l)
		}
	}
	sort.SliceStable(own, func(i, j int) bool { return own[i].Index < own[j].Index })
	var st []Stage
	for _, l := range own {
		st = append(st, Stage{Level: l.Index, Devices: append([]string(nil), l.Devices...)})
	}
	if len(st) > 0 {
		return st
	}
	for _, d := range capable {
		st = append(st, Stage{Devices: []string{d}})
	}
	return st
}

// Step is one device action the fencer runs next.
type Step struct {
	// Stage is the position in the sequence (0-based); Level its
	// configured index (0 without levels).
	Stage, Level int
	// Device is the device ID; Action the cluster's action for it (off,
	// on, reboot).
	Device, Action string
}

// Outcome is the result of one Step (after the device's retries).
type Outcome struct {
	Step
	// OK: the device confirmed the action.
	OK bool
	// Reason says why it failed.
	Reason string
}

// Verdict is where fencing a target stands.
type Verdict int

// The verdicts.
const (
	// Continue: run Decision.Step next.
	Continue Verdict = iota
	// Fenced: a stage succeeded: the devices confirmed the target off
	// (or rebooted, or on for an "on" request).
	Fenced
	// Failed: every stage failed (or there was none).
	Failed
)

func (v Verdict) String() string {
	switch v {
	case Continue:
		return "continue"
	case Fenced:
		return "fenced"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Decision is what Next says.
type Decision struct {
	Verdict Verdict
	// Step is set when Verdict is Continue.
	Step Step
	// Reason explains Fenced (which level) and Failed (what each stage
	// ran into).
	Reason string
}

// steps expands a stage for action. A reboot through a level of several
// devices is, as in Pacemaker, "off" on every device and then "on" on
// every device, so a host with two power supplies is really off in
// between.
func steps(si int, s Stage, action string) []Step {
	var out []Step
	if action == "reboot" && len(s.Devices) > 1 {
		for _, a := range []string{"off", "on"} {
			for _, d := range s.Devices {
				out = append(out, Step{Stage: si, Level: s.Level, Device: d, Action: a})
			}
		}
		return out
	}
	for _, d := range s.Devices {
		out = append(out, Step{Stage: si, Level: s.Level, Device: d, Action: action})
	}
	return out
}

// Next decides, from the stages and the outcomes so far, the next step or
// the verdict. A stage fails at its first failed step (the later stages
// are tried); it succeeds when all its steps did. In a reboot remapped to
// off then on, a failed "on" does not undo the fence: the target was off.
// Next is pure: it neither runs nor remembers anything.
func Next(stages []Stage, action string, done []Outcome) Decision {
	results := map[Step]Outcome{}
	for _, o := range done {
		results[o.Step] = o
	}
	var why []string
	for si, s := range stages {
		failed := ""
		remapped := action == "reboot" && len(s.Devices) > 1
		for _, st := range steps(si, s, action) {
			o, ok := results[st]
			if !ok {
				return Decision{Verdict: Continue, Step: st}
			}
			if !o.OK && !(remapped && st.Action == "on") {
				failed = fmt.Sprintf("%s %s: %s", st.Device, st.Action, o.Reason)
				break
			}
		}
		if failed == "" {
			return Decision{Verdict: Fenced, Reason: stageName(s) + " succeeded"}
		}
		why = append(why, stageName(s)+" failed ("+failed+")")
	}
	if len(stages) == 0 {
		return Decision{Verdict: Failed, Reason: "no fence device can fence the target"}
	}
	return Decision{Verdict: Failed, Reason: strings.Join(why, "; ")}
}

func stageName(s Stage) string {
	if s.Level > 0 {
		return fmt.Sprintf("level %d (%s)", s.Level, strings.Join(s.Devices, ","))
	}
	return "device " + strings.Join(s.Devices, ",")
}
