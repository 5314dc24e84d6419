package cli

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
)

// statusView says what the human status screen shows besides the
// default: node attributes, fail counts, colours.
type statusView struct {
	attributes bool // --attributes: a Node Attributes section
	failcounts bool // --failcounts: a Migration Summary of fail counts
	color      bool // ANSI colours (only on a terminal)
}

// isTerminal reports whether w is a character device (a terminal) and
// the user did not ask for no colour (NO_COLOR).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// printStatus writes the default human status screen.
func printStatus(w io.Writer, st *api.Status) error {
	return statusView{}.print(w, st)
}

// paint wraps s in an ANSI colour when colours are on.
func (v statusView) paint(code, s string) string {
	if !v.color {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

const (
	colRed    = "31"
	colGreen  = "32"
	colYellow = "33"
	colBold   = "1"
)

// print writes the screen crm_mon shows: the cluster summary, the nodes,
// the resources as a tree (groups with their members, clone sets by role),
// the failed actions, and on request node attributes and fail counts.
func (v statusView) print(w io.Writer, st *api.Status) error {
	var b strings.Builder
	leader, quorum := st.Leader, v.paint(colGreen, "yes")
	if leader == "" {
		leader = v.paint(colRed, "(none)")
	}
	if !st.Quorum {
		quorum = v.paint(colRed, "NO")
	}
	b.WriteString("Cluster Summary:\n")
	fmt.Fprintf(&b, "  * Leader: %s    Quorum: %s    Config epoch: %d\n", leader, quorum, st.Epoch)
	if lc := st.LastChange; lc != nil {
		by := lc.By
		if lc.Role != "" {
			by += " (" + lc.Role + ")"
		}
		fmt.Fprintf(&b, "  * Last change: %s by %s: %s\n", lc.At.Local().Format("2006-01-02 15:04:05 MST"), by, lc.Action)
	}
	fmt.Fprintf(&b, "  * %d nodes and %d resources configured\n", len(st.Nodes), len(st.Resources))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nNodes (%d):\n", len(st.Nodes))
	if len(st.Nodes) > 0 {
		fmt.Fprintln(tw, "  NAME\tSTATE\tROLE")
	}
	for _, n := range st.Nodes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", n.Name, v.nodeState(n.State), dash(n.Role))
	}
	tw.Flush()
	// Why a lost node's resources are held (Pacemaker's refusal to
	// recover an unfenced node), and what fenced one.
	for _, n := range st.Nodes {
		switch {
		case n.Hold != "":
			fmt.Fprintf(&b, "  * %s UNCLEAN: %s\n", n.Name, n.Hold)
		case n.FencedBy != "" && n.State != "online":
			fmt.Fprintf(&b, "  * %s fenced by %s\n", n.Name, n.FencedBy)
		}
	}
	if st.Gate != "" {
		fmt.Fprintf(&b, "  * %s\n", v.paint(colRed, st.Gate))
	}
	if tn := st.TwoNode; tn != nil {
		how := "no witness"
		if tn.Declared {
			how += ", paceline init --two-node"
		}
		fmt.Fprintf(&b, "  * Two-node cluster: %s (%s)\n", strings.Join(tn.Servers, " and "), how)
		if tn.Lost != "" {
			fmt.Fprintf(&b, "  * %s\n", v.paint(colRed, tn.Lost))
		}
	}
	fmt.Fprintf(&b, "\nResources (%d):\n", len(st.Resources))
	v.resources(&b, st)
	v.vms(&b, st.VMs)
	v.failedActions(&b, st.FailedActions)
	if v.attributes {
		v.nodeAttributes(&b, st.Nodes)
	}
	if v.failcounts {
		failCounts(&b, st.Nodes)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (v statusView) nodeState(state string) string {
	switch state {
	case api.NodeOnline:
		return v.paint(colGreen, state)
	case api.NodeOffline, api.NodeUnclean:
		return v.paint(colRed, strings.ToUpper(state))
	}
	return v.paint(colYellow, state)
}

// resources writes the resource tree: top-level primitives and
// collectives in configuration order.
func (v statusView) resources(b *strings.Builder, st *api.Status) {
	if len(st.Resources) == 0 {
		b.WriteString("  * No resources\n")
		return
	}
	prims := map[string]*api.ResourceStatus{}
	for i := range st.Resources {
		prims[st.Resources[i].ID] = &st.Resources[i]
	}
	colls := map[string]*api.CollectiveStatus{}
	for i := range st.Collectives {
		colls[st.Collectives[i].ID] = &st.Collectives[i]
	}
	// Top-level order: primitives and collectives without a parent, as
	// they come in the configuration (collectives first by their first
	// primitive's position).
	var top []string
	seen := map[string]bool{}
	for _, r := range st.Resources {
		id := r.ID
		for p := r.Parent; p != ""; {
			id = p
			if c := colls[p]; c != nil {
				p = c.Parent
			} else {
				p = ""
			}
		}
		if !seen[id] {
			seen[id] = true
			top = append(top, id)
		}
	}
	allNodes := []string{}
	for _, n := range st.Nodes {
		if n.Role != "witness" {
			allNodes = append(allNodes, n.Name)
		}
	}
	for _, id := range top {
		switch c, p := colls[id], prims[id]; {
		case c != nil:
			v.collective(b, c, colls, prims, allNodes, "  ")
		case p != nil:
			v.primitive(b, p, "  ")
		default: // a bundle: its primitives under its id
			fmt.Fprintf(b, "  * Bundle: %s:\n", id)
			for i := range st.Resources {
				if st.Resources[i].Parent == id {
					v.primitive(b, &st.Resources[i], "    ")
				}
			}
		}
	}
}

func (v statusView) collective(b *strings.Builder, c *api.CollectiveStatus, colls map[string]*api.CollectiveStatus,
	prims map[string]*api.ResourceStatus, allNodes []string, indent string) {
	if c.Kind == "group" {
		fmt.Fprintf(b, "%s* Resource Group: %s:\n", indent, c.ID)
		for _, ch := range c.Children {
			if p := prims[ch]; p != nil {
				v.primitive(b, p, indent+"  ")
			}
		}
		return
	}
	if len(c.Children) == 0 {
		return
	}
	kind := ""
	if c.Promotable {
		kind = " (promotable)"
	}
	fmt.Fprintf(b, "%s* Clone Set: %s [%s]%s:\n", indent, c.ID, c.Children[0], kind)
	// The instances of a cloned group are those of its first member.
	leaf := c.Children[0]
	if g := colls[leaf]; g != nil && len(g.Children) > 0 {
		leaf = g.Children[0]
	}
	p := prims[leaf]
	if p == nil {
		return
	}
	byRole := map[string][]string{}
	var failed []string
	for _, in := range p.Instances {
		if in.Role == api.RoleFailed {
			failed = append(failed, in.Node)
			continue
		}
		byRole[in.Role] = append(byRole[in.Role], in.Node)
	}
	for _, role := range []string{api.RolePromoted, api.RoleUnpromoted, api.RoleStarted} {
		if ns := byRole[role]; len(ns) > 0 {
			slices.Sort(ns)
			fmt.Fprintf(b, "%s  * %s: [ %s ]\n", indent, v.role(role), strings.Join(ns, " "))
		}
	}
	for _, n := range failed {
		fmt.Fprintf(b, "%s  * %s\t(%s):\t %s %s\n", indent, p.ID, p.Agent, v.paint(colRed, "FAILED"), n)
	}
	var stopped []string
	for _, n := range allNodes {
		if !slices.Contains(p.Nodes, n) {
			stopped = append(stopped, n)
		}
	}
	if len(stopped) > 0 {
		fmt.Fprintf(b, "%s  * Stopped: [ %s ]\n", indent, strings.Join(stopped, " "))
	}
	if !p.Managed {
		fmt.Fprintf(b, "%s  * (unmanaged)\n", indent)
	}
	replication(b, p, indent+"  ")
}

// replication writes a replicated database's health per instance, as
// patronictl list does, when its agent publishes it.
func replication(b *strings.Builder, p *api.ResourceStatus, indent string) {
	if !slices.ContainsFunc(p.Instances, func(in api.Instance) bool { return in.Replication != nil }) {
		return
	}
	fmt.Fprintf(b, "%s* Replication (%s):\n", indent, p.ID)
	rows := [][]string{{"NODE", "STATE", "ROLE", "TIMELINE", "LSN", "LAG", "SYNC"}}
	for _, in := range p.Instances {
		r := in.Replication
		if r == nil {
			rows = append(rows, []string{in.Node, in.Role, "-", "-", "-", "-", "-"})
			continue
		}
		tl, lag := "-", "-"
		if r.Timeline > 0 {
			tl = fmt.Sprint(r.Timeline)
		}
		if r.Role == "primary" || r.Role == "standby" {
			lag = fmt.Sprintf("%d B", r.LagBytes)
		}
		rows = append(rows, []string{in.Node, in.Role, r.Role, tl, orDash(r.LSN), lag, orDash(r.Sync)})
	}
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	for _, row := range rows {
		line := indent + "  "
		for i, c := range row {
			line += fmt.Sprintf("%-*s  ", width[i], c)
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (v statusView) role(role string) string {
	switch role {
	case api.RolePromoted:
		return v.paint(colBold, role)
	case api.RoleFailed:
		return v.paint(colRed, "FAILED")
	}
	return role
}

// primitive writes one primitive: id, agent, role and nodes, a VIP's
// address.
func (v statusView) primitive(b *strings.Builder, p *api.ResourceStatus, indent string) {
	state := v.role(p.Role)
	switch {
	case len(p.Instances) == 1:
		state = v.role(p.Instances[0].Role) + " " + p.Instances[0].Node
	case len(p.Instances) > 1:
		var parts []string
		for _, in := range p.Instances {
			parts = append(parts, in.Node+"("+in.Role+")")
		}
		state = v.paint(colRed, "ACTIVE ON SEVERAL NODES") + " [ " + strings.Join(parts, " ") + " ]"
	}
	if p.Address != "" {
		state += " [" + p.Address + "]"
	}
	if !p.Managed {
		state += " (unmanaged)"
	}
	fmt.Fprintf(b, "%s* %s\t(%s):\t %s\n", indent, p.ID, p.Agent, state)
}

// vms writes one line per VM: its state (on its host), HA level and
// storage, and why.
func (v statusView) vms(b *strings.Builder, vms []api.VMStatus) {
	if len(vms) == 0 {
		return
	}
	fmt.Fprintf(b, "\nVMs (%d):\n", len(vms))
	for _, vm := range vms {
		state := vm.State
		switch vm.State {
		case "Running":
			state = v.paint(colGreen, state)
		case "Unknown", "Recovering":
			state = v.paint(colRed, state)
		}
		if vm.Host != "" {
			state += " on " + vm.Host
		}
		fmt.Fprintf(b, "  * %s\t%s\t[%s, %s]", vm.ID, state, vm.HALevel, vm.Storage)
		if vm.Reason != "" {
			fmt.Fprintf(b, ": %s", vm.Reason)
		}
		b.WriteString("\n")
	}
}

// failedActions writes crm_mon's "Failed Resource Actions".
func (v statusView) failedActions(b *strings.Builder, fas []api.FailedAction) {
	if len(fas) == 0 {
		return
	}
	b.WriteString("\nFailed Resource Actions:\n")
	for _, fa := range fas {
		at := "unknown"
		if !fa.At.IsZero() {
			at = fa.At.Local().Format("2006-01-02 15:04:05 MST")
		}
		fmt.Fprintf(b, "  * %s_%s_%d on %s '%s' (%d): call=%d, status='%s', exitreason='%s', last-rc-change='%s'\n",
			fa.Resource, fa.Operation, fa.Interval, fa.Node, v.paint(colRed, model.ExitCodeName(fa.ExitCode)), fa.ExitCode,
			fa.CallID, fa.Status, fa.ExitReason, at)
	}
}

// isFailAttr reports whether a node attribute is a fail count or a
// last-failure time.
func isFailAttr(name string) bool {
	return strings.HasPrefix(name, "fail-count-") || strings.HasPrefix(name, "last-failure-")
}

// nodeAttributes writes crm_mon -A's "Node Attributes" (fail counts are
// --failcounts').
func (v statusView) nodeAttributes(b *strings.Builder, nodes []api.NodeStatus) {
	b.WriteString("\nNode Attributes:\n")
	for _, n := range nodes {
		var names []string
		for k := range n.Attributes {
			if !isFailAttr(k) {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		fmt.Fprintf(b, "  * Node: %s:\n", n.Name)
		for _, k := range names {
			fmt.Fprintf(b, "    * %-32s: %s\n", k, n.Attributes[k])
		}
	}
}

// failCounts writes crm_mon --failcounts' "Migration Summary": per node,
// each resource's fail count by operation and its last failure.
func failCounts(b *strings.Builder, nodes []api.NodeStatus) {
	b.WriteString("\nMigration Summary:\n")
	for _, n := range nodes {
		var keys []string
		for k := range n.Attributes {
			if strings.HasPrefix(k, "fail-count-") {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			continue
		}
		sort.Strings(keys)
		fmt.Fprintf(b, "  * Node: %s:\n", n.Name)
		for _, k := range keys {
			// fail-count-RSC#OP_INTERVAL (Pacemaker 2.x), or
			// fail-count-RSC for older records.
			suffix := strings.TrimPrefix(k, "fail-count-")
			rsc, op, _ := strings.Cut(suffix, "#")
			line := fmt.Sprintf("    * %s: fail-count=%s", rsc, n.Attributes[k])
			if name, ms, ok := cutLast(op, "_"); ok {
				line += " (" + name
				if d, err := strconv.ParseInt(ms, 10, 64); err == nil && d > 0 {
					line += " every " + (time.Duration(d) * time.Millisecond).String()
				}
				line += ")"
			}
			if lf, err := strconv.ParseInt(n.Attributes["last-failure-"+suffix], 10, 64); err == nil && lf > 0 {
				line += " last-failure='" + time.Unix(lf, 0).Local().Format("2006-01-02 15:04:05 MST") + "'"
			}
			b.WriteString(line + "\n")
		}
	}
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
