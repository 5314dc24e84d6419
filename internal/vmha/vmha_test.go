package vmha_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/sched"
	"github.com/paceline/paceline/internal/vmha"
)

// TestScenarios runs the scenario files in testdata, one per VM HA
// behaviour. Each builds a cluster in a few words, translates it and shows
// what the translation did and what the scheduler then plans. Regenerate
// after a deliberate change and review the diff:
//
//	go test ./internal/vmha -run TestScenarios -rewrite
//
// Commands:
//
//	cluster nodes=(n1,n2,...)
//	vm ID [ha=NeverStop|None] [storage=shared|local] [target-role=R] [cpu=N memory=N] [stop-reason=WHY]
//	vd ID [ha=...] [vm-storage=shared|local] [allow-migrate=B] ...  an ocf:heartbeat:VirtualDomain VM (vm's other words)
//	rsc ID                                       a builtin:dummy primitive
//	fence ID NODE                                a stonith:fence_ipmilan device for NODE
//	property NAME=VALUE
//	location ID RSC NODE SCORE
//	----
//
//	status
//	node NAME online|unclean|offline [ATTR=VALUE ...]
//	RSC running|failed|stopped NODE              started (monitor 0), monitor 7, probe 7
//	----
//
//	translate     notes, stops, and the scheduler's Transition Summary of the result
//	states        each VM's state as status shows it
func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		if filepath.Ext(path) != ".txt" {
			t.Skipf("%s: not a scenario file", path)
		}
		s := &scenario{}
		datadriven.RunTest(t, path, s.run)
	})
}

// now is the scenarios' clock: 2023-11-14 22:13:20Z.
var now = time.Unix(1700000000, 0).UTC()

type scenario struct {
	cfg  *model.Config
	st   *model.Status
	call int
}

func (s *scenario) run(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "cluster":
		var nodes []string
		d.ScanArgs(t, "nodes", &nodes)
		s.cfg = &model.Config{Properties: map[string]string{"stonith-enabled": "true", "have-watchdog": "true"}}
		s.st = &model.Status{HaveQuorum: true, DC: nodes[0], FeatureSet: sched.FeatureSet}
		for _, n := range nodes {
			s.cfg.Nodes = append(s.cfg.Nodes, model.Node{Name: n, Type: model.NodeMember})
			s.st.Nodes = append(s.st.Nodes, model.NodeStatus{Name: n, InCluster: "true", Peer: "online", Join: "member", Expected: "member"})
		}
		for _, line := range lines(d.Input) {
			if err := s.configLine(line); err != nil {
				d.Fatalf(t, "%s: %v", line, err)
			}
		}
		if err := s.cfg.Validate(); err != nil {
			d.Fatalf(t, "configuration: %v", err)
		}
		return ""
	case "status":
		for _, line := range lines(d.Input) {
			if err := s.statusLine(line); err != nil {
				d.Fatalf(t, "%s: %v", line, err)
			}
		}
		return ""
	case "translate":
		out, err := vmha.Translate(vmha.Input{Config: s.cfg, Status: s.st, Now: now})
		if err != nil {
			return "error: " + err.Error() + "\n"
		}
		var b strings.Builder
		for _, n := range out.Notes {
			fmt.Fprintf(&b, "note: %s\n", n)
		}
		for _, st := range out.Stops {
			fmt.Fprintf(&b, "record: %s stopped: %s\n", st.VM, st.Reason)
		}
		res, err := sched.Schedule(sched.Input{Config: out.Config, Status: out.Status, Now: now})
		if err != nil {
			d.Fatalf(t, "schedule: %v", err)
		}
		sched.WriteSummary(&b, res.Changes)
		return b.String()
	case "states":
		sts, err := vmha.States(vmha.Input{Config: s.cfg, Status: s.st, Now: now})
		if err != nil {
			d.Fatalf(t, "states: %v", err)
		}
		var b strings.Builder
		for _, st := range sts {
			fmt.Fprintf(&b, "%s %s host=%q level=%s storage=%s reason=%q\n", st.VM, st.State, st.Host, st.Level, st.Storage, st.Reason)
		}
		return b.String()
	}
	d.Fatalf(t, "unknown command %q", d.Cmd)
	return ""
}

func lines(input string) []string {
	var out []string
	for _, l := range strings.Split(input, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func (s *scenario) configLine(line string) error {
	f := strings.Fields(line)
	switch f[0] {
	case "vm", "vd":
		r := model.Resource{ID: f[1], Kind: model.KindPrimitive, Class: "builtin", Type: "vm",
			Params: []model.NV{{Name: "domain", Value: f[1]}, {Name: "xml", Value: "/vm/" + f[1] + ".xml"}},
			Meta:   map[string]string{},
			Ops:    []model.Op{{Name: "monitor", Interval: 10 * time.Second}}}
		if f[0] == "vd" {
			r.Class, r.Provider, r.Type = "ocf", "heartbeat", model.VirtualDomainType
			r.Params = []model.NV{{Name: "config", Value: "/vm/" + f[1] + ".xml"}}
		}
		for _, kv := range f[2:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case model.MetaVMStorage, "allow-migrate":
				r.Meta[k] = v
			case "ha":
				r.Meta[vmha.MetaHALevel] = v
			case "storage":
				r.Params = append(r.Params, model.NV{Name: vmha.ParamStorage, Value: v})
			case "target-role":
				r.Meta["target-role"] = v
			case "stop-reason":
				r.Meta[vmha.MetaStopReason] = strings.ReplaceAll(v, "_", " ")
			case "cpu", "memory":
				if r.Utilization == nil {
					r.Utilization = map[string]string{}
				}
				r.Utilization[k] = v
			default:
				return fmt.Errorf("unknown vm attribute %q", k)
			}
		}
		s.cfg.Resources = append(s.cfg.Resources, r)
	case "rsc":
		s.cfg.Resources = append(s.cfg.Resources, model.Resource{ID: f[1], Kind: model.KindPrimitive, Class: "builtin", Type: "dummy",
			Ops: []model.Op{{Name: "monitor", Interval: 10 * time.Second}}})
	case "fence":
		s.cfg.Resources = append(s.cfg.Resources, model.Resource{ID: f[1], Kind: model.KindPrimitive, Class: "stonith", Type: "fence_ipmilan",
			Params: []model.NV{{Name: "pcmk_host_list", Value: f[2]}}, Ops: []model.Op{{Name: "monitor", Interval: 60 * time.Second}}})
	case "property":
		k, v, _ := strings.Cut(f[1], "=")
		s.cfg.Properties[k] = v
	case "location":
		score, err := model.ParseScore(f[4])
		if err != nil {
			return err
		}
		s.cfg.Locations = append(s.cfg.Locations, model.Location{ID: f[1], Resource: f[2], Node: f[3], Score: score})
	case "node":
		i := slices.IndexFunc(s.cfg.Nodes, func(n model.Node) bool { return n.Name == f[1] })
		if i < 0 {
			return fmt.Errorf("no node %s", f[1])
		}
		s.cfg.Nodes[i].Utilization = map[string]string{}
		for _, kv := range f[2:] {
			k, v, _ := strings.Cut(kv, "=")
			s.cfg.Nodes[i].Utilization[k] = v
		}
	default:
		return fmt.Errorf("unknown line")
	}
	return nil
}

func (s *scenario) node(name string) *model.NodeStatus {
	for i := range s.st.Nodes {
		if s.st.Nodes[i].Name == name {
			return &s.st.Nodes[i]
		}
	}
	return nil
}

func (s *scenario) statusLine(line string) error {
	f := strings.Fields(line)
	if f[0] == "node" {
		ns := s.node(f[1])
		if ns == nil {
			return fmt.Errorf("no node %s", f[1])
		}
		switch f[2] {
		case "online":
		case "unclean":
			ns.InCluster, ns.Peer, ns.Join, ns.Expected = "false", "offline", "down", "member"
		case "offline":
			ns.InCluster, ns.Peer, ns.Join, ns.Expected = "false", "offline", "down", "down"
		default:
			return fmt.Errorf("node state %q", f[2])
		}
		for _, kv := range f[3:] {
			k, v, _ := strings.Cut(kv, "=")
			if ns.Attributes == nil {
				ns.Attributes = map[string]string{}
			}
			ns.Attributes[k] = v
		}
		return nil
	}
	if len(f) != 3 {
		return fmt.Errorf("want RSC running|failed|stopped NODE")
	}
	ns := s.node(f[2])
	if ns == nil {
		return fmt.Errorf("no node %s", f[2])
	}
	rh := model.ResourceHistory{ID: f[0], Class: "builtin", Type: "dummy"}
	for _, r := range s.cfg.Resources {
		if r.ID == f[0] {
			rh.Class, rh.Type = r.Class, r.Type
		}
	}
	op := func(name string, interval time.Duration, rc int) model.OpRecord {
		s.call++
		suffix := "last_0"
		if interval > 0 {
			suffix = fmt.Sprintf("monitor_%d", interval.Milliseconds())
		}
		return model.OpRecord{ID: f[0] + "_" + suffix, Operation: name, Interval: interval.Milliseconds(),
			CallID: s.call, RC: rc, TargetRC: 0, LastRun: now.Unix() - 60, LastRCChange: now.Unix() - 60, FeatureSet: sched.FeatureSet}
	}
	switch f[1] {
	case "running":
		rh.Ops = []model.OpRecord{op("start", 0, 0), op("monitor", 10*time.Second, 0)}
	case "failed":
		start := op("start", 0, 0)
		m := op("monitor", 10*time.Second, 7)
		m.ID = f[0] + "_last_failure_0"
		rh.Ops = []model.OpRecord{start, m}
	case "stopped":
		p := op("monitor", 0, 7)
		p.TargetRC = 7
		rh.Ops = []model.OpRecord{p}
	default:
		return fmt.Errorf("resource state %q", f[1])
	}
	ns.Resources = append(ns.Resources, rh)
	return nil
}
