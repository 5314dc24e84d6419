package vmha_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/sched"
	"github.com/paceline/paceline/internal/vmha"
)

// scaleInput is 3 voters and clients VM hosts with perHost shared
// NeverStop VMs each, none started yet (running false: every VM is
// Starting, as right after they are created) or each running on its host.
func scaleInput(clients, perHost int, running bool) vmha.Input {
	cfg := &model.Config{Properties: map[string]string{"stonith-enabled": "true", "have-watchdog": "true"}}
	st := &model.Status{HaveQuorum: true, DC: "n1", FeatureSet: sched.FeatureSet}
	add := func(n string) {
		cfg.Nodes = append(cfg.Nodes, model.Node{Name: n, Type: model.NodeMember})
		st.Nodes = append(st.Nodes, model.NodeStatus{Name: n, InCluster: "true", Peer: "online", Join: "member", Expected: "member"})
	}
	for _, n := range []string{"n1", "n2", "n3"} {
		add(n)
	}
	call := 0
	for c := 1; c <= clients; c++ {
		host := fmt.Sprintf("c%d", c)
		add(host)
		for i := 1; i <= perHost; i++ {
			id := fmt.Sprintf("vm-%s-%d", host, i)
			cfg.Resources = append(cfg.Resources, model.Resource{ID: id, Kind: model.KindPrimitive, Class: "builtin", Type: "vm",
				Params: []model.NV{{Name: "domain", Value: id}, {Name: "storage", Value: "shared"}}, Meta: map[string]string{"ha-level": "NeverStop"},
				Ops: []model.Op{{Name: "monitor", Interval: 10 * time.Second, Timeout: 20 * time.Second}}})
			if running {
				call++
				ns := &st.Nodes[len(st.Nodes)-1]
				ns.Resources = append(ns.Resources, model.ResourceHistory{ID: id, Class: "builtin", Type: "vm", Ops: []model.OpRecord{
					{ID: id + "_last_0", Operation: "start", CallID: call, LastRun: now.Unix() - 60, LastRCChange: now.Unix() - 60, FeatureSet: sched.FeatureSet}}})
			}
		}
	}
	return vmha.Input{Config: cfg, Status: st, Now: now}
}

// BenchmarkStates is what status --json spends on the VMs' states of a
// cluster of 3 voters and 30 VM hosts with 6 VMs each.
func BenchmarkStates(b *testing.B) {
	for _, running := range []bool{false, true} {
		in := scaleInput(30, 6, running)
		b.Run(fmt.Sprintf("running=%v", running), func(b *testing.B) {
			for b.Loop() {
				if _, err := vmha.States(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
