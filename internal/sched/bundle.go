package sched

// Bundles: a bundle runs Replicas copies of a container image. Each
// replica is a set of implicit resources:
//
//   - the container, an ocf:heartbeat:<runtime> primitive BUNDLE-<runtime>-N;
//   - with ip-range-start, an ocf:heartbeat:IPaddr2 primitive BUNDLE-ip-ADDR
//     colocated with and started before the container;
//   - when the bundle holds a primitive, a Pacemaker Remote connection
//     BUNDLE-N whose container is the replica's container: BUNDLE-N is a
//     guest node, "fenced" by recovering the container;
//   - the inner primitive's clone instance (PRIMITIVE:N of the implicit
//     clone BUNDLE-clone, or BUNDLE-master when promotable), which may run
//     only on its replica's guest node.
//
// Containers are placed like clone instances (at most replicas-per-host
// per node); then, replica by replica, the IP, the connection and the
// inner instance follow.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/model"
)

// replica is one copy of a bundle's resources.
type replica struct {
	offset    int
	ipaddr    string
	container *resource
	ip        *resource // nil without ip-range-start
	remote    *resource // nil without an inner primitive
	child     *resource // the inner clone instance, or nil
	node      *node     // the guest node, or nil
}

// bundleData is what a bundle resource holds beyond a plain resource.
type bundleData struct {
	spec     *model.Bundle
	replicas []*replica
	// child is the implicit clone of the inner primitive (nil for a bare
	// container bundle).
	child *resource
}

// bundleCounts returns the number of replicas and replicas per host.
func bundleCounts(b *model.Bundle) (replicas, perHost int) {
	replicas = b.Replicas
	if replicas < 1 {
		replicas = 1
		if b.PromotedMax > 0 {
			replicas = b.PromotedMax
		}
	}
	perHost = b.ReplicasPerHost
	if perHost < 1 {
		perHost = 1
	}
	if b.IPRangeStart == "" && b.ControlPort != "" {
		perHost = 1
	}
	return replicas, perHost
}

// validBundleNetwork reports whether the containers can be reached: an
// inner primitive needs ip-range-start or control-port.
func validBundleNetwork(b *model.Bundle) bool {
	return b.IPRangeStart != "" || b.ControlPort != ""
}

// hasGuests reports whether a bundle configuration creates guest nodes.
func hasGuests(cfg *model.Resource) bool {
	return cfg.Kind == model.KindBundle && cfg.Bundle != nil && len(cfg.Children) == 1 && validBundleNetwork(cfg.Bundle)
}

// addBundleNodes creates the guest node of every replica of every bundle
// with an inner primitive. No resource but the replica's own instance may
// run there: the node's own score is -INFINITY.
func (ws *workingSet) addBundleNodes() {
	for i := range ws.cfg.Resources {
		cfg := &ws.cfg.Resources[i]
		if !hasGuests(cfg) {
			continue
		}
		n, _ := bundleCounts(cfg.Bundle)
		for j := 0; j < n; j++ {
			name := cfg.ID + "-" + strconv.Itoa(j)
			ws.addRemoteNode(name)
			ws.nodeByName[name].score = -model.Infinity
		}
	}
}

// nextIP is the address after last in a bundle's range ("" when the
// range is exhausted or last is not IPv4).
func nextIP(last string) string {
	var o [4]int
	if _, err := fmt.Sscanf(last, "%d.%d.%d.%d", &o[0], &o[1], &o[2], &o[3]); err != nil {
		return ""
	}
	switch {
	case o[2] > 253:
		return ""
	case o[3] > 253:
		o[2]++
		o[3] = 1
	default:
		o[3]++
	}
	return fmt.Sprintf("%d.%d.%d.%d", o[0], o[1], o[2], o[3])
}

// unpackBundle builds a bundle's implicit resources (pe__unpack_bundle).
func (ws *workingSet) unpackBundle(r *resource) error {
	spec := r.cfg.Bundle
	if spec == nil {
		return fmt.Errorf("bundle %q has no container", r.id)
	}
	bd := &bundleData{spec: spec}
	r.bundle = bd
	r.cloneMax, r.cloneNodeMax = bundleCounts(spec)
	if r.cloneNodeMax == 1 {
		r.unique = false
	}
	var util map[string]string
	if len(r.cfg.Children) > 0 {
		if !validBundleNetwork(spec) {
			return fmt.Errorf("bundle %q: %w: an inner primitive needs ip-range-start or control-port", r.id, ErrUnsupported)
		}
		prim := r.cfg.Children[0]
		util, prim.Utilization = prim.Utilization, nil
		suffix := "clone"
		meta := map[string]string{
			"ordered":         "true",
			"clone-max":       strconv.Itoa(r.cloneMax),
			"clone-node-max":  strconv.Itoa(r.cloneNodeMax),
			"globally-unique": strconv.FormatBool(r.cloneNodeMax > 1),
		}
		if spec.PromotedMax > 0 {
			suffix = "master"
			meta["promotable"] = "true"
			meta["promoted-max"] = strconv.Itoa(spec.PromotedMax)
		}
		cc := &model.Resource{ID: r.id + "-" + suffix, Kind: model.KindClone, Meta: meta, Children: []model.Resource{prim}}
		child, err := ws.newResource(cc, r)
		if err != nil {
			return err
		}
		bd.child = child
		for _, inst := range child.children {
			if inst.notify {
				child.notify = true
			}
		}
	}
	last := ""
	for i := 0; i < r.cloneMax; i++ {
		rep := &replica{offset: i}
		if bd.child != nil && i < len(bd.child.children) {
			rep.child = bd.child.children[i]
		}
		if spec.IPRangeStart != "" {
			if last == "" {
				rep.ipaddr = spec.IPRangeStart
			} else {
				rep.ipaddr = nextIP(last)
			}
			last = rep.ipaddr
		}
		bd.replicas = append(bd.replicas, rep)
	}
	var kids []*resource
	for _, rep := range bd.replicas {
		if err := ws.bundleReplicaResources(r, rep, util); err != nil {
			return err
		}
		for _, k := range []*resource{rep.container, rep.ip, rep.remote} {
			if k != nil {
				kids = append(kids, k)
			}
		}
	}
	if bd.child != nil {
		kids = append(kids, bd.child)
	}
	r.children = kids
	return nil
}

// bundleReplicaResources creates a replica's container, IP address and
// connection.
func (ws *workingSet) bundleReplicaResources(r *resource, rep *replica, util map[string]string) error {
	spec := r.bundle.spec
	ccfg := &model.Resource{
		ID: fmt.Sprintf("%s-%s-%d", r.id, spec.Runtime, rep.offset), Kind: model.KindPrimitive,
		Class: "ocf", Provider: "heartbeat", Type: spec.Runtime, Utilization: util,
		Params: []model.NV{{Name: "image", Value: spec.Image}},
		Ops:    []model.Op{{Name: "monitor", Interval: 60 * time.Second}},
	}
	if spec.RunCommand != "" {
		ccfg.Params = append(ccfg.Params, model.NV{Name: "run_cmd", Value: spec.RunCommand})
	}
	var err error
	if rep.container, err = ws.newResource(ccfg, r); err != nil {
		return err
	}
	rep.container.implicit = true
	if rep.ipaddr != "" {
		mask := spec.HostNetmask
		if mask == "" {
			mask = "32"
		}
		icfg := &model.Resource{
			ID: sanitizeID(r.id + "-ip-" + rep.ipaddr), Kind: model.KindPrimitive,
			Class: "ocf", Provider: "heartbeat", Type: "IPaddr2",
			Params: []model.NV{{Name: "ip", Value: rep.ipaddr}},
			Ops:    []model.Op{{Name: "monitor", Interval: 60 * time.Second}},
		}
		if spec.HostInterface != "" {
			icfg.Params = append(icfg.Params, model.NV{Name: "nic", Value: spec.HostInterface})
		}
		icfg.Params = append(icfg.Params, model.NV{Name: "cidr_netmask", Value: mask})
		if rep.ip, err = ws.newResource(icfg, r); err != nil {
			return err
		}
		rep.ip.implicit = true
	}
	if rep.child == nil {
		return nil
	}
	name := fmt.Sprintf("%s-%d", r.id, rep.offset)
	rep.node = ws.nodeByName[name]
	addr := rep.ipaddr
	if addr == "" {
		addr = "#uname"
	}
	port := spec.ControlPort
	if port == "" {
		port = "3121"
	}
	rcfg := guestConnection(&model.Resource{ID: ccfg.ID, Meta: map[string]string{"remote-addr": addr, "remote-port": port}}, name)
	if rep.remote, err = ws.newResource(&rcfg, r); err != nil {
		return err
	}
	rep.remote.implicit = true
	return nil
}

// sanitizeID replaces characters XML ids may not hold (crm_xml_sanitize_id).
func sanitizeID(id string) string {
	return strings.Map(func(c rune) rune {
		if c == ':' || c == '#' {
			return '.'
		}
		return c
	}, id)
}

// finishBundle restricts each inner instance to its guest node and keeps
// the implicit clone and the connections off guest and remote nodes.
func (ws *workingSet) finishBundle(r *resource) {
	bd := r.bundle
	for _, rep := range bd.replicas {
		if rep.remote != nil {
			rep.remote.allowed.each(func(w *weighted) {
				if w.n.remote {
					w.score = -model.Infinity
				}
			})
		}
		if rep.child == nil || rep.node == nil {
			continue
		}
		for _, p := range append([]*resource{rep.child}, rep.child.primitives()...) {
			p.allowed = newNodeTable(len(ws.nodes))
			p.allowed.set(rep.node, 500)
			if p.discovery == nil {
				p.discovery = map[*node]discoverMode{}
			}
			p.discovery[rep.node] = discoverExclusive
		}
		bd.child.allowed.set(rep.node, -model.Infinity)
	}
}

// containers lists a bundle's containers in replica order; for other
// collective resources it returns their children
// (get_containers_or_children).
func (r *resource) instances() []*resource {
	if r.bundle == nil {
		return r.children
	}
	out := make([]*resource, 0, len(r.bundle.replicas))
	for _, rep := range r.bundle.replicas {
		out = append(out, rep.container)
	}
	return out
}

// bundleOf returns the bundle r is (part of), or nil.
func (r *resource) bundleOf() *resource {
	for p := r; p != nil; p = p.parent {
		if p.bundle != nil {
			return p
		}
	}
	return nil
}

// replicaForNode returns the inner instance of the bundle replica whose
// guest node is n (pe__find_bundle_replica).
func (b *resource) replicaForNode(n *node) *resource {
	for _, rep := range b.bundle.replicas {
		if rep.node == n {
			return rep.child
		}
	}
	return nil
}

// assignBundle is pcmk__bundle_allocate.
func (ws *workingSet) assignBundle(r *resource, prefer *node) *node {
	if !r.provisional || r.allocating {
		return nil
	}
	bd := r.bundle
	r.allocating = true
	containers := r.instances()
	sort.SliceStable(containers, func(i, j int) bool { return ws.cmpInstance(containers[i], containers[j]) < 0 })
	ws.distributeChildren(r, containers)
	for _, rep := range bd.replicas {
		if rep.ip != nil {
			ws.assign(rep.ip, prefer)
		}
		host := rep.container.assigned
		if rep.remote != nil && host != nil && host.remote && host.conn != nil {
			ws.newColocation("child-remote-with-docker-remote", "", model.Infinity, rep.remote, host.conn, "", "", true)
		}
		if rep.remote != nil {
			ws.assign(rep.remote, prefer)
		}
		if rep.child != nil && rep.node != nil {
			rep.child.allowed.each(func(w *weighted) {
				if w.n != rep.node {
					w.score = -model.Infinity
				} else if !ws.thresholdReached(rep.child, w.n) {
					w.score = model.Infinity
				}
			})
			bd.child.allocating = true
			ws.assign(rep.child, rep.node)
			bd.child.allocating = false
		}
	}
	if bd.child != nil {
		bd.child.allowed.each(func(w *weighted) {
			w.score = -model.Infinity
			for _, rep := range bd.replicas {
				if rep.node == w.n {
					w.score = 0
				}
			}
		})
		ws.assign(bd.child, prefer)
	}
	r.allocating = false
	r.provisional = false
	return nil
}

// thresholdReached is pcmk__threshold_reached: r failed on n at least
// migration-threshold times.
func (ws *workingSet) thresholdReached(r *resource, n *node) bool {
	if r.migrationThreshold == 0 || r.failureIgnored {
		return false
	}
	fc := ws.failCount(n, r, true)
	return fc > 0 && r.migrationThreshold-fc <= 0
}

// createBundleActions is pcmk__bundle_create_actions.
func (ws *workingSet) createBundleActions(r *resource) {
	bd := r.bundle
	for _, rep := range bd.replicas {
		for _, k := range []*resource{rep.ip, rep.container, rep.remote} {
			if k != nil {
				ws.createActions(k)
			}
		}
	}
	ws.clonePseudoActions(r, r.instances())
	if bd.child != nil {
		ws.createActions(bd.child)
		if bd.child.promotable {
			ws.pseudo(r, "promote", true, true)
			ws.pseudo(r, "promoted", true, true)
			ws.pseudo(r, "demote", true, true)
			ws.pseudo(r, "demoted", true, true)
		}
	}
}

// bundleInternal is pcmk__bundle_internal_constraints.
func (ws *workingSet) bundleInternal(r *resource) {
	bd := r.bundle
	if c := bd.child; c != nil {
		ws.orderResourceActions(r, "start", c, "start", ofImpliesFirstPrinted)
		ws.orderResourceActions(r, "stop", c, "stop", ofImpliesFirstPrinted)
		ws.orderResourceActions(c, "running", r, "running", ofImpliesThenPrinted)
		ws.orderResourceActions(c, "stopped", r, "stopped", ofImpliesThenPrinted)
	}
	for _, rep := range bd.replicas {
		ws.internalConstraints(rep.container)
		ws.orderResourceActions(r, "start", rep.container, "start", ofRunnableLeft|ofImpliesFirstPrinted)
		if rep.child != nil {
			ws.orderResourceActions(r, "stop", rep.child, "stop", ofImpliesFirstPrinted)
		}
		ws.orderResourceActions(r, "stop", rep.container, "stop", ofImpliesFirstPrinted)
		ws.orderResourceActions(rep.container, "start", r, "running", ofImpliesThenPrinted)
		ws.orderResourceActions(rep.container, "stop", r, "stopped", ofImpliesThenPrinted)
		if rep.ip != nil {
			ws.internalConstraints(rep.ip)
			ws.orderResourceActions(rep.ip, "start", rep.container, "start", ofRunnableLeft|ofPreserve)
			ws.orderResourceActions(rep.container, "stop", rep.ip, "stop", ofImpliesFirst|ofPreserve)
			ws.newColocation("ip-with-docker", "", model.Infinity, rep.ip, rep.container, "", "", true)
		}
		if rep.remote != nil {
			ws.internalConstraints(rep.remote)
		}
	}
	if c := bd.child; c != nil {
		ws.internalConstraints(c)
		if c.promotable {
			ws.orderResourceActions(r, "demoted", r, "stop", ofOptional)
			ws.orderResourceActions(r, "running", r, "promote", ofRunnableLeft)
			ws.orderResourceActions(c, "demoted", r, "demoted", ofImpliesThenPrinted)
			ws.orderResourceActions(r, "demote", c, "demote", ofImpliesFirstPrinted)
			ws.orderResourceActions(c, "promoted", r, "promoted", ofImpliesThenPrinted)
			ws.orderResourceActions(r, "promote", c, "promote", ofImpliesFirstPrinted)
		}
	}
}

// bundleActionFlags is pcmk__bundle_action_flags: promotion and
// notification actions summarise the inner instances, everything else
// the containers.
func (ws *workingSet) bundleActionFlags(a *Action, n *node) actionFlags {
	if c := a.rsc.bundle.child; c != nil {
		switch taskToChild(a.Task) {
		case "promote", "demote", "notify", "notified":
			return ws.summaryActionFlags(a, c.children, n)
		}
	}
	return ws.summaryActionFlags(a, a.rsc.instances(), n)
}

// bundleColocationRH is pcmk__bundle_apply_coloc_score with the bundle as
// primary.
func (ws *workingSet) bundleColocationRH(dep, prim *resource, c *colocation) {
	if prim.provisional {
		return
	}
	if c.dependent.variant == vClone || c.dependent.variant == vBundle {
		pi := ws.findCompatibleChild(dep, prim, RoleUnknown, false)
		switch {
		case pi != nil:
			ws.colocationApply(dep, pi, c)
		case c.score >= model.Infinity:
			ws.finalizeAssignment(dep, nil, true)
		}
		return
	}
	var allowed []*node
	for _, rep := range prim.bundle.replicas {
		if c.score < model.Infinity {
			ws.colocationApply(dep, rep.container, c)
			continue
		}
		n := rep.container.location()
		if n == nil || rep.container.blockedRecursive() {
			continue
		}
		if c.primRole >= RolePromoted && (rep.child == nil || rep.child.nextRole < RolePromoted) {
			continue
		}
		allowed = append(allowed, n)
	}
	if c.score >= model.Infinity {
		nodeListExclude(dep.allowed, allowed, nil)
	}
}

// bundleChanges lists a bundle's Transition Summary lines replica by
// replica: IP, container, connection, inner instance.
func (ws *workingSet) bundleChanges(r *resource) []Change {
	var out []Change
	for _, rep := range r.bundle.replicas {
		for _, k := range []*resource{rep.ip, rep.container, rep.remote, rep.child} {
			if k != nil {
				out = append(out, ws.resourceChanges(k)...)
			}
		}
	}
	return out
}
