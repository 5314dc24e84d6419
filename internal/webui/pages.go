package webui

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
)

// newestEvents is how many events the overview lists.
const newestEvents = 12

// page is what every template gets.
type page struct {
	Title string
	// Live marks a page the script refreshes on every status snapshot.
	Live bool
	// Who, Role, CSRF and CanOperate describe the session (empty on the
	// login page).
	Who, Role, CSRF string
	CanOperate      bool
	// Switchover says whether the switchover action is connected.
	Switchover bool
	// Here is the page's path, where an action returns to.
	Here string
	Data any
}

// render writes the named page, or only its live part for ?fragment=1.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name string, c *caller, data any) {
	p := page{Title: name, Data: data, Here: r.URL.Path, Switchover: u.cfg.Hooks.Switchover != nil}
	switch d := data.(type) {
	case overviewData:
		p.Title = "Overview"
	case resourceData:
		p.Title = "Resource " + d.Res.ID
	case nodeData:
		p.Title = "Node " + d.Node.Name
	}
	if c != nil {
		p.Who, p.Role, p.CSRF, p.CanOperate = c.p.TokenID, string(c.p.Role), c.sess.csrf, c.CanOperate()
	}
	p.Live = name == "overview" || name == "resource" || name == "node"
	tmpl := "layout"
	if r.URL.Query().Get("fragment") != "" {
		tmpl = "live"
	}
	var buf bytes.Buffer
	if err := u.pages[name].ExecuteTemplate(&buf, tmpl, p); err != nil {
		http.Error(w, "webui: render "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail shows one line saying what went wrong.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, c *caller, status int, msg string) {
	if partial(r) {
		http.Error(w, msg, status)
		return
	}
	u.render(w, r, status, "error", c, map[string]any{"Status": status, "Message": msg})
}

// apiFail shows an API error with the API's own status (403 for a role
// that may not, 404, 400 with the reason, 503 without quorum).
func (u *UI) apiFail(w http.ResponseWriter, r *http.Request, c *caller, what string, err error) {
	status, msg := http.StatusBadGateway, err.Error()
	var ae *api.Error
	if errors.As(err, &ae) {
		status, msg = ae.StatusCode, ae.Message
	}
	u.fail(w, r, c, status, what+": "+msg)
}

// cloneView is a clone's instances by role.
type cloneView struct {
	ID                            string
	Promotable                    bool
	Promoted, Unpromoted, Started []string
}

type overviewData struct {
	Status *api.Status
	Clones []cloneView
	VIPs   []api.ResourceStatus
	Events []Event
	// FromAudit says Events are the audit log's entries (no event log).
	FromAudit bool
}

func (u *UI) overview(w http.ResponseWriter, r *http.Request, c *caller) {
	st, err := c.client.Status(r.Context())
	if err != nil {
		u.apiFail(w, r, c, "read the status", err)
		return
	}
	d := overviewData{Status: st, Clones: clones(st)}
	for _, rs := range st.Resources {
		if rs.Address != "" {
			d.VIPs = append(d.VIPs, rs)
		}
	}
	if u.cfg.Hooks.Events != nil {
		d.Events = u.cfg.Hooks.Events(newestEvents)
	} else {
		d.FromAudit = true
		if log, err := c.client.Audit(r.Context()); err == nil {
			d.Events = auditEvents(log.Entries, newestEvents)
		}
	}
	u.render(w, r, http.StatusOK, "overview", c, d)
}

// auditEvents turns the newest n audit entries into events, newest first.
func auditEvents(entries []api.AuditEntry, n int) []Event {
	var out []Event
	for i := len(entries) - 1; i >= 0 && len(out) < n; i-- {
		e := entries[i]
		out = append(out, Event{At: e.At, Kind: "audit", Message: fmt.Sprintf("%s by %s (%s): %s", e.Action, e.Token, e.Role, e.Result)})
	}
	return out
}

// clones gathers each clone's instances by role from its primitives (a
// cloned group's members included).
func clones(st *api.Status) []cloneView {
	parent := map[string]string{}
	for _, cs := range st.Collectives {
		parent[cs.ID] = cs.Parent
	}
	var out []cloneView
	for _, cs := range st.Collectives {
		if cs.Kind != string(model.KindClone) {
			continue
		}
		cv := cloneView{ID: cs.ID, Promotable: cs.Promotable}
		for _, rs := range st.Resources {
			if rs.Parent != cs.ID && parent[rs.Parent] != cs.ID {
				continue
			}
			for _, in := range rs.Instances {
				switch in.Role {
				case api.RolePromoted:
					cv.Promoted = addOnce(cv.Promoted, in.Node)
				case api.RoleUnpromoted:
					cv.Unpromoted = addOnce(cv.Unpromoted, in.Node)
				default:
					cv.Started = addOnce(cv.Started, in.Node)
				}
			}
		}
		out = append(out, cv)
	}
	return out
}

func addOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// param is one parameter as the resource page shows it.
type param struct {
	Name, Value string
	Masked      bool
}

type resourceData struct {
	Res         *api.Resource
	Status      *api.ResourceStatus
	Parent      string
	Params      []param
	Ops         []api.Operation
	Constraints []string
	Nodes       []string
	Promotable  bool
	Moved       bool
}

func (u *UI) resourcePage(w http.ResponseWriter, r *http.Request, c *caller) {
	id := r.PathValue("id")
	ctx := r.Context()
	cfg, err := c.client.Config(ctx)
	if err != nil {
		u.apiFail(w, r, c, "read the configuration", err)
		return
	}
	res := model.FindResource(cfg.Resources, id)
	if res == nil {
		u.fail(w, r, c, http.StatusNotFound, fmt.Sprintf("no resource %q", id))
		return
	}
	st, err := c.client.Status(ctx)
	if err != nil {
		u.apiFail(w, r, c, "read the status", err)
		return
	}
	ops, err := c.client.Operations(ctx, id)
	var ae *api.Error
	if err != nil && !(errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound) {
		u.apiFail(w, r, c, "read the operations of "+id, err)
		return
	}
	d := resourceData{Res: res, Ops: ops, Constraints: constraintsOf(cfg, id), Moved: hasMove(cfg, id)}
	if p := model.ParentOf(cfg.Resources, id); p != nil {
		d.Parent = p.ID
	}
	for p := res; p != nil; p = model.ParentOf(cfg.Resources, p.ID) {
		d.Promotable = d.Promotable || (p.Kind == model.KindClone && isTrue(p.Meta["promotable"]))
	}
	for i := range st.Resources {
		if st.Resources[i].ID == id {
			d.Status = &st.Resources[i]
		}
	}
	for _, nv := range res.Params {
		masked := nv.Secret || u.cfg.IsSecret(nv.Name)
		v := nv.Value
		if masked {
			v = model.SecretMask
		}
		d.Params = append(d.Params, param{Name: nv.Name, Value: v, Masked: masked})
	}
	for _, n := range st.Nodes {
		d.Nodes = append(d.Nodes, n.Name)
	}
	u.render(w, r, http.StatusOK, "resource", c, d)
}

// hasMove reports whether a move or ban constraint of the resource exists.
func hasMove(cfg *api.Config, id string) bool {
	return slices.ContainsFunc(cfg.Locations, func(l api.Location) bool { return isMove(l, id) })
}

// isMove reports whether l is one "resource move" or "resource ban" made
// for id (the ids "resource clear" removes).
func isMove(l api.Location, id string) bool {
	return l.Resource == id && (l.ID == "cli-prefer-"+id || strings.HasPrefix(l.ID, "cli-ban-"+id+"-on-"))
}

// constraintsOf describes every constraint that names id, one line each.
func constraintsOf(cfg *api.Config, id string) []string {
	names := func(main []string, sets []api.ResourceSet) bool {
		if slices.Contains(main, id) {
			return true
		}
		return slices.ContainsFunc(sets, func(s api.ResourceSet) bool { return slices.Contains(s.Resources, id) })
	}
	var out []string
	for _, l := range cfg.Locations {
		if !names([]string{l.Resource}, l.Sets) {
			continue
		}
		where := "node " + l.Node + " score " + l.Score.String()
		if l.Node == "" {
			where = fmt.Sprintf("%d rule(s)", len(l.Rules))
		}
		out = append(out, fmt.Sprintf("location %s: %s%s on %s", l.ID, l.Resource, withRole(l.Role), where))
	}
	for _, co := range cfg.Colocations {
		if names([]string{co.Resource, co.With}, co.Sets) {
			out = append(out, fmt.Sprintf("colocation %s: %s%s with %s%s score %s", co.ID, co.Resource, withRole(co.Role),
				co.With, withRole(co.WithRole), co.Score.String()))
		}
	}
	for _, o := range cfg.Orders {
		if names([]string{o.First, o.Then}, o.Sets) {
			out = append(out, fmt.Sprintf("order %s: %s %s then %s %s", o.ID, orStart(o.FirstAction), o.First, orStart(o.ThenAction), o.Then))
		}
	}
	return out
}

func withRole(role string) string {
	if role == "" {
		return ""
	}
	return " (" + role + ")"
}

func orStart(action string) string {
	if action == "" {
		return "start"
	}
	return action
}

type nodeData struct {
	Node      api.NodeStatus
	Address   string
	Leader    bool
	Resources []api.ResourceStatus
	Attrs     []param
	Standby   bool
	Maint     bool
}

func (u *UI) nodePage(w http.ResponseWriter, r *http.Request, c *caller) {
	name := r.PathValue("name")
	st, err := c.client.Status(r.Context())
	if err != nil {
		u.apiFail(w, r, c, "read the status", err)
		return
	}
	i := slices.IndexFunc(st.Nodes, func(n api.NodeStatus) bool { return n.Name == name })
	if i < 0 {
		u.fail(w, r, c, http.StatusNotFound, fmt.Sprintf("no node %q", name))
		return
	}
	d := nodeData{Node: st.Nodes[i], Leader: st.Leader == name,
		Standby: isTrue(st.Nodes[i].Attributes["standby"]), Maint: isTrue(st.Nodes[i].Attributes["maintenance"])}
	if nodes, err := c.client.Nodes(r.Context()); err == nil {
		for _, n := range nodes {
			if n.Name == name {
				d.Address = n.Address
			}
		}
	}
	for _, rs := range st.Resources {
		if slices.Contains(rs.Nodes, name) {
			d.Resources = append(d.Resources, rs)
		}
	}
	keys := make([]string, 0, len(d.Node.Attributes))
	for k := range d.Node.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		d.Attrs = append(d.Attrs, param{Name: k, Value: d.Node.Attributes[k]})
	}
	u.render(w, r, http.StatusOK, "node", c, d)
}

// isTrue reads a Pacemaker boolean.
func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "true", "on", "yes", "y", "1":
		return true
	}
	return false
}

// Template functions.

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// ms shows milliseconds (an int or int64) as a duration.
func ms(v any) string {
	var d int64
	switch v := v.(type) {
	case int:
		d = int64(v)
	case int64:
		d = v
	}
	if d == 0 {
		return ""
	}
	return (time.Duration(d) * time.Millisecond).String()
}

func join(list []string) string { return strings.Join(list, " ") }

func roleClass(role string) string { return "role-" + strings.ToLower(role) }

func stateClass(state string) string { return "state-" + strings.ToLower(state) }

// actButton is one action button (template "act").
type actButton struct {
	P                             page
	Action, Resource, Node, Label string
}

func act(p page, action, resource, node, label string) actButton {
	return actButton{P: p, Action: action, Resource: resource, Node: node, Label: label}
}
