package vmha

import (
	"fmt"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/sched"
)

// State is what status shows of a VM.
type State string

// The VM states (ZStack's).
const (
	Starting   State = "Starting"
	Running    State = "Running"
	Stopping   State = "Stopping"
	Stopped    State = "Stopped"
	Migrating  State = "Migrating"
	Unknown    State = "Unknown"    // its host is unreachable
	Recovering State = "Recovering" // being restarted
)

// Status is one VM's state as status shows it.
type Status struct {
	VM      string
	State   State
	Host    string // where it runs (or ran, when Unknown); "" when stopped
	Level   string // the configured HA level
	Storage string
	// Reason says why (a stop, a recovery, a migration's target).
	Reason string
}

// States derives each VM's state, in configuration order, from the
// scheduler's view of the translated configuration and status (what the
// scheduler acts on: a VM host in maintenance is being evacuated, a None
// VM that failed is being stopped).
func States(in Input) ([]Status, error) {
	if in.Config == nil || len(VMs(in.Config)) == 0 {
		return nil, nil
	}
	// As the controller plans (have-watchdog with stonith enabled), so
	// that an unplaced VM is explained by the plan's reasons.
	cfg := *in.Config
	cfg.Properties = model.PlanningProperties(cfg.Properties)
	in.Config = &cfg
	out, err := Translate(in)
	if err != nil {
		return nil, err
	}
	view, err := sched.CurrentView(sched.Input{Config: out.Config, Status: out.Status, Now: in.Now})
	if err != nil {
		return nil, fmt.Errorf("vmha: %w", err)
	}
	sts := states(out.Config, out.Status, view)
	explainUnplaced(sts, out, in.Now)
	return sts, nil
}

// explainUnplaced shows each VM that should start but is placed nowhere
// as Stopped with the scheduler's reason (a node without the capacity, a ban, a
// failure), from a schedule of the translated input. It schedules only
// when there is such a VM.
func explainUnplaced(sts []Status, out Output, now time.Time) {
	var ids []string
	for _, s := range sts {
		if s.State == Starting {
			ids = append(ids, s.VM)
		}
	}
	if len(ids) == 0 {
		return
	}
	res, err := sched.Schedule(sched.Input{Config: out.Config, Status: out.Status, Now: now, Explain: ids})
	if err != nil {
		return
	}
	for i := range sts {
		e := res.Explain[sts[i].VM]
		if sts[i].State != Starting || e == nil || !strings.Contains(e.Decision, "not placed anywhere") {
			continue
		}
		var why []string
		for _, ns := range e.Scores {
			switch {
			case !ns.Available:
				why = append(why, ns.Node+": "+ns.Reason)
			case ns.Score == "-INFINITY":
				for _, c := range ns.Contributions {
					if strings.HasPrefix(c, "-INFINITY ") {
						why = append(why, ns.Node+": "+strings.TrimPrefix(c, "-INFINITY "))
						break
					}
				}
			}
		}
		sts[i].State, sts[i].Reason = Stopped, "not started: no host can run it"
		if len(why) > 0 {
			sts[i].Reason += " (" + strings.Join(why, "; ") + ")"
		}
	}
}

func states(cfg *model.Config, st *model.Status, view sched.ClusterView) []Status {
	nodeState := map[string]string{}
	for _, n := range view.Nodes {
		nodeState[n.Name] = n.State
	}
	// unknown is why a VM's state is unknown on a node (builtin:vm's
	// monitor: its libvirtd does not answer, its qemu still runs), by
	// node and VM.
	unknown := func(node, id string) string {
		if st == nil {
			return ""
		}
		for i := range st.Nodes {
			if st.Nodes[i].Name == node {
				return st.Nodes[i].Attributes[model.AttrVMUnknownPrefix+id]
			}
		}
		return ""
	}
	rvs := map[string]sched.ResourceView{}
	for _, rv := range view.Resources {
		rvs[rv.ID] = rv
	}
	opts := model.ParseClusterOptions(cfg.Properties)
	var out []Status
	for i := range cfg.Resources {
		r := &cfg.Resources[i]
		if !IsVM(r) {
			continue
		}
		vm := describe(r)
		s := Status{VM: vm.ID, Level: vm.Level, Storage: vm.Storage}
		rv := rvs[vm.ID]
		stop := strings.EqualFold(r.Meta["target-role"], "Stopped")
		if len(rv.Nodes) > 0 {
			s.Host = rv.Nodes[0]
		}
		hostState := nodeState[s.Host]
		switch {
		case s.Host == "":
			switch {
			case stop:
				s.State, s.Reason = Stopped, r.Meta[MetaStopReason]
				if s.Reason == "" {
					s.Reason = "stopped by the user"
				}
			case rv.Failed:
				s.State, s.Reason = Recovering, "restarting after a failure"
			default:
				s.State = Starting
			}
		case strings.HasPrefix(hostState, "UNCLEAN"):
			s.State, s.Reason = Unknown, "host "+s.Host+" unreachable"
			switch {
			case stop:
				s.Reason += ": stopped for good once it is fenced"
				if why := r.Meta[MetaStopReason]; why != "" {
					s.Reason += " (" + why + ")"
				}
			case opts.VMHAStrategy == model.VMHAPermissive && opts.VMHA:
				s.Reason += ": waiting until it is fenced or confirmed down (Permissive)"
			default:
				s.Reason += ": recovered elsewhere once it is fenced"
			}
		case rv.Failed && !stop && vm.Level == LevelNeverStop && opts.VMHA:
			s.State, s.Reason = Recovering, "stopped by itself: restarting on "+s.Host
		case stop || rv.Failed:
			s.State, s.Reason = Stopping, r.Meta[MetaStopReason]
			if s.Reason == "" && stop {
				s.Reason = "stopped by the user"
			}
		case hostState == "standby":
			switch {
			case vm.Storage != StorageShared:
				s.State, s.Reason = Stopping, "host "+s.Host+" is evacuated (local storage)"
			case !migrates(r):
				s.State, s.Reason = Stopping, "host "+s.Host+" is evacuated (allow-migrate=false: restarted elsewhere)"
			default:
				s.State, s.Reason = Migrating, "host "+s.Host+" is evacuated"
			}
		case hostState == "maintenance":
			s.State, s.Reason = Running, "host "+s.Host+" in maintenance: unmanaged"
		case unknown(s.Host, vm.ID) != "":
			// Running as far as the cluster knows (its monitor succeeds):
			// not restarted, not started elsewhere.
			s.State, s.Reason = Unknown, unknown(s.Host, vm.ID)
		default:
			s.State = Running
			// A move's target that cannot take it (offline, standby) is no
			// migration under way.
			if to := preferred(cfg, vm.ID); to != "" && to != s.Host && nodeState[to] == "online" && vm.Storage == StorageShared && migrates(r) {
				s.State, s.Reason = Migrating, fmt.Sprintf("to %s", to)
			}
		}
		out = append(out, s)
	}
	return out
}

// migrates reports whether a VM live-migrates: its (translated)
// allow-migrate is true.
func migrates(r *model.Resource) bool {
	switch strings.ToLower(r.Meta["allow-migrate"]) {
	case "true", "on", "yes", "y", "1":
		return true
	}
	return false
}

// preferred is the node a move (cli-prefer-ID) sends a resource to.
func preferred(cfg *model.Config, id string) string {
	for _, l := range cfg.Locations {
		if l.ID == "cli-prefer-"+id && l.Score >= model.Infinity && l.Role == "" {
			return l.Node
		}
	}
	return ""
}
