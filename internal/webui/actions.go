package webui

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
)

// An action is one operator command: the same API request the command
// line sends for it, made with the session's token (so the API checks
// the role and writes the audit entry). resource and node come from the
// form.
type action func(ctx context.Context, c *api.Client, resource, node string) error

// nodeAttr sets (value "on") or removes (value "") a node attribute, as
// "paceline node standby|unstandby|maintenance|unmaintenance" do.
func nodeAttr(attr, value string) action {
	return func(ctx context.Context, c *api.Client, _, node string) error {
		if node == "" {
			return fmt.Errorf("no node given")
		}
		return c.SetNodeAttributes(ctx, node, map[string]string{attr: value})
	}
}

// targetRole sets a resource's target-role, as "paceline resource
// enable|disable" do.
func targetRole(role string) action {
	return func(ctx context.Context, c *api.Client, id, _ string) error {
		return c.EditConfig(ctx, func(cfg *api.Config) error {
			r := model.FindResource(cfg.Resources, id)
			if r == nil {
				return &api.Error{StatusCode: http.StatusNotFound, Message: fmt.Sprintf("no resource %q", id)}
			}
			if r.Meta == nil {
				r.Meta = map[string]string{}
			}
			r.Meta["target-role"] = role
			return nil
		})
	}
}

func (u *UI) actions() map[string]action {
	acts := map[string]action{
		"standby":       nodeAttr("standby", "on"),
		"unstandby":     nodeAttr("standby", ""),
		"maintenance":   nodeAttr("maintenance", "on"),
		"unmaintenance": nodeAttr("maintenance", ""),
		"enable":        targetRole(api.RoleStarted),
		"disable":       targetRole(api.RoleStopped),
		"cleanup": func(ctx context.Context, c *api.Client, id, node string) error {
			_, err := c.CleanupResource(ctx, id, node)
			return err
		},
		// "paceline resource move ID NODE": cli-prefer-ID, INFINITY.
		"move": func(ctx context.Context, c *api.Client, id, node string) error {
			// As the command line does: the API takes a location for a
			// node that is not (yet) a member.
			nodes, err := c.Nodes(ctx)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(nodes, func(n api.Node) bool { return n.Name == node }) {
				return &api.Error{StatusCode: http.StatusBadRequest, Message: fmt.Sprintf("no node %q to move %q to", node, id)}
			}
			return c.PutConstraint(ctx, api.Constraint{Kind: api.ConstraintLocation,
				Location: &api.Location{ID: "cli-prefer-" + id, Resource: id, Node: node, Score: model.Infinity}})
		},
		// "paceline resource clear ID": remove its move and ban constraints.
		"clear": func(ctx context.Context, c *api.Client, id, _ string) error {
			cfg, err := c.Config(ctx)
			if err != nil {
				return err
			}
			for _, l := range cfg.Locations {
				if isMove(l, id) {
					if err := c.RemoveConstraint(ctx, l.ID); err != nil {
						return err
					}
				}
			}
			return nil
		},
	}
	if sw := u.cfg.Hooks.Switchover; sw != nil {
		acts["switchover"] = func(ctx context.Context, c *api.Client, id, node string) error { return sw(ctx, c, id, node) }
	}
	return acts
}

// action runs the posted action and returns to the page it came from.
func (u *UI) action(w http.ResponseWriter, r *http.Request, c *caller) {
	name, id, node := r.PostForm.Get("action"), r.PostForm.Get("resource"), r.PostForm.Get("node")
	act, ok := u.actions()[name]
	if !ok {
		u.fail(w, r, c, http.StatusBadRequest, fmt.Sprintf("unknown action %q", name))
		return
	}
	// A viewer's action goes to the API too, which refuses it with 403 and
	// records the refusal in the audit log; one that reached nothing to
	// refuse (a clear with nothing to clear) is refused here.
	if err := act(r.Context(), c.client, id, node); err != nil {
		u.apiFail(w, r, c, strings.Join(slices.DeleteFunc([]string{name, id, node}, func(s string) bool { return s == "" }), " "), err)
		return
	}
	if !c.CanOperate() {
		u.fail(w, r, c, http.StatusForbidden, fmt.Sprintf("token %s has role %s; %s needs operator", c.p.TokenID, c.p.Role, name))
		return
	}
	back := r.PostForm.Get("back")
	if !strings.HasPrefix(back, "/ui/") || strings.ContainsAny(back, "\\?#") || strings.Contains(back, "//") {
		back = "/ui/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
