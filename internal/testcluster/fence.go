package testcluster

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/paceline/paceline/internal/agents"
	"github.com/paceline/paceline/internal/model"
)

// FenceAgent is the fence agent of the cluster's power switch
// (Options.Fencing): a stonith-class device "stonith:fence_testcluster"
// that every node's fencer runs in memory.
const FenceAgent = "fence_testcluster"

// switchMeta is the power switch agent's meta-data: it takes the target
// as port and supports the fence-agents actions.
const switchMeta = `<?xml version="1.0" ?>
<resource-agent name="fence_testcluster" shortdesc="the in-process test cluster's power switch">
<parameters>
	<parameter name="port" required="0"><content type="string"/></parameter>
</parameters>
<actions><action name="off"/><action name="on"/><action name="reboot"/><action name="status"/><action name="list"/><action name="monitor"/><action name="metadata"/></actions>
</resource-agent>`

// powerSwitch is a fence agent with real behaviour: "off" and "reboot"
// kill the target node as Kill does (a reboot leaves it down: the test
// cluster does not start nodes again), "status" says whether it runs,
// "list" names every node. While broken (BreakFencing) every fence
// action fails, as an unreachable BMC does. It is the stonith class of
// every node's executor (start, stop and monitor of the device succeed
// while it works) and the runner of every node's fencer.
type powerSwitch struct {
	c      *Cluster
	broken atomic.Bool
}

func (p *powerSwitch) Run(_ context.Context, req agents.Request) agents.Result {
	ok := agents.Result{Status: agents.StatusDone, RC: agents.RCOK}
	fail := agents.Result{Status: agents.StatusDone, RC: agents.RCUnknownError, ExitReason: "Failed: the power switch does not answer"}
	target := req.Params["port"]
	if target == "" {
		target = req.Node
	}
	switch req.Op {
	case "meta-data":
		ok.Output = switchMeta
		return ok
	case "start", "stop", "on":
		return ok
	case "monitor", "status", "list", "off", "reboot":
		if p.broken.Load() {
			return fail
		}
	default:
		return agents.Result{Status: agents.StatusDone, RC: agents.RCUnimplemented, ExitReason: "unsupported action " + req.Op}
	}
	switch req.Op {
	case "list":
		ok.Output = strings.Join(p.c.names, "\n") + "\n"
	case "status":
		p.c.mu.Lock()
		n := p.c.nodes[target]
		up := n != nil && n.alive
		p.c.mu.Unlock()
		if !up {
			ok.RC = agents.RCNotRunning
		}
	case "off", "reboot":
		if p.c.Node(target) == nil {
			return agents.Result{Status: agents.StatusDone, RC: agents.RCUnknownError, ExitReason: "Failed: no plug " + target}
		}
		p.c.Kill(target)
	}
	return ok
}

// BreakFencing makes the power switch fail every fence action (broken)
// or work again.
func (c *Cluster) BreakFencing(broken bool) { c.power.broken.Store(broken) }

// AddFenceDevice configures the power switch as fence device id for
// every node (Options.Fencing).
func (c *Cluster) AddFenceDevice(id string) {
	c.Update("fence device "+id, func(cfg *model.Config) {
		cfg.Resources = append(cfg.Resources, model.Resource{ID: id, Kind: model.KindPrimitive, Class: "stonith",
			Type: FenceAgent, Params: []model.NV{{Name: "pcmk_host_list", Value: strings.Join(c.names, ",")}}})
	})
}

// Pause freezes a node as SIGSTOP freezes its agent: it neither renews
// its lease nor checks it (so it does not self-fence) and reaches nobody,
// while its resources go on running. Only a fence (or Kill) ends it.
func (c *Cluster) Pause(name string) {
	c.mu.Lock()
	n := c.nodes[name]
	n.paused = true
	for _, other := range c.nodes {
		if other != n {
			other.trans.Disconnect(n.trans)
			n.trans.Disconnect(other.trans)
		}
	}
	c.mu.Unlock()
}
