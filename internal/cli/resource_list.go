package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func newResourceListCmd(s streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the configured resources as a tree",
		Long: `List the configured resources in configuration order, groups and clones
with their members indented: id, kind and agent. --json prints the
resources as the configuration holds them (secret values masked).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := connect()
			if err != nil {
				return err
			}
			cfg, err := c.Config(cmd.Context())
			if err != nil {
				return failure("list resources", "", err)
			}
			if asJSON {
				if cfg.Resources == nil {
					cfg.Resources = []api.Resource{}
				}
				return writeJSON(s.Out, cfg.Resources)
			}
			if len(cfg.Resources) == 0 {
				_, err := fmt.Fprintln(s.Out, "no resources")
				return err
			}
			tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tKIND\tAGENT")
			var walk func(rs []api.Resource, indent string)
			walk = func(rs []api.Resource, indent string) {
				for _, r := range rs {
					kind, agent := string(r.Kind), "-"
					if r.Kind == model.KindPrimitive {
						agent = r.Agent()
					}
					if r.Kind == model.KindClone && isTrue(r.Meta["promotable"]) {
						kind = "clone (promotable)"
					}
					fmt.Fprintf(tw, "%s%s\t%s\t%s\n", indent, r.ID, kind, agent)
					walk(r.Children, indent+"  ")
				}
			}
			walk(cfg.Resources, "")
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newResourceShowCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a resource: definition, constraints, where it runs, failures",
		Long: `Show one resource: its definition as the configuration holds it (YAML,
secret values masked), the constraints that name it (or its group or
clone, or its members), the nodes its instances are active on with their
roles, its failed actions and its recent operations on every node (each
operation's last result, newest first, with exit codes).`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			c, err := connect()
			if err != nil {
				return err
			}
			cfg, err := c.Config(cmd.Context())
			if err != nil {
				return failure("show resource "+quote(id), "", err)
			}
			r := findResource(cfg.Resources, id)
			if r == nil {
				return fmt.Errorf("resource %s not found", quote(id))
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return failure("show resource "+quote(id), "", err)
			}
			b, err := yaml.Marshal(r)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.Out, "Definition:\n%s", indentLines(string(b), "  "))
			// The resource, its parents and its members.
			related := map[string]bool{}
			var mark func(r *api.Resource)
			mark = func(r *api.Resource) {
				related[r.ID] = true
				for i := range r.Children {
					mark(&r.Children[i])
				}
			}
			mark(r)
			for p := model.ParentOf(cfg.Resources, id); p != nil; p = model.ParentOf(cfg.Resources, p.ID) {
				related[p.ID] = true
			}
			fmt.Fprintln(s.Out, "\nConstraints:")
			n := writeConstraints(s.Out, cfg, func(ids ...string) bool { return slices.ContainsFunc(ids, func(x string) bool { return related[x] }) })
			if n == 0 {
				fmt.Fprintln(s.Out, "  none")
			}
			fmt.Fprintln(s.Out, "\nRunning:")
			n = 0
			for _, rs := range st.Resources {
				if !related[rs.ID] {
					continue
				}
				var where []string
				for _, in := range rs.Instances {
					where = append(where, in.Node+" ("+in.Role+")")
				}
				if len(where) == 0 {
					where = []string{rs.Role}
				}
				fmt.Fprintf(s.Out, "  %s: %s\n", rs.ID, strings.Join(where, ", "))
				n++
			}
			if n == 0 {
				fmt.Fprintln(s.Out, "  nothing")
			}
			fmt.Fprintln(s.Out, "\nFailed actions:")
			n = 0
			for _, fa := range st.FailedActions {
				if related[fa.Resource] || related[model.BaseID(fa.Resource)] {
					fmt.Fprintf(s.Out, "  %s_%s_%d on %s: exit %d (%s), %s, %s\n", fa.Resource, fa.Operation, fa.Interval, fa.Node,
						fa.ExitCode, model.ExitCodeName(fa.ExitCode), fa.Status, dash(fa.ExitReason))
					n++
				}
			}
			if n == 0 {
				fmt.Fprintln(s.Out, "  none")
			}
			ops, err := c.Operations(cmd.Context(), id)
			if err != nil {
				return failure("show resource "+quote(id), "", err)
			}
			writeOperations(s.Out, ops, 20)
			return nil
		},
	}
}

// writeOperations prints the newest max operations of a history, one
// line each: when, where, what, its exit code and status.
func writeOperations(w io.Writer, ops []api.Operation, max int) {
	fmt.Fprintln(w, "\nRecent operations (newest first):")
	if len(ops) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for i, o := range ops {
		if i == max {
			fmt.Fprintf(w, "  ... %d older\n", len(ops)-max)
			break
		}
		at := "-"
		if !o.At.IsZero() {
			at = o.At.Local().Format("2006-01-02 15:04:05")
		}
		extra := ""
		if o.MigrateTarget != "" {
			extra = " " + o.MigrateSource + " -> " + o.MigrateTarget
		}
		if o.ExitReason != "" {
			extra += " (" + o.ExitReason + ")"
		}
		fmt.Fprintf(w, "  %s  %s  %s_%s_%d call %d: exit %d (%s), %s%s\n", at, o.Node, o.Resource, o.Operation, o.Interval,
			o.CallID, o.ExitCode, model.ExitCodeName(o.ExitCode), o.Status, extra)
	}
}

// indentLines prefixes every line of s.
func indentLines(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

// writeConstraints prints the constraints for which names(ids they
// name...) holds, pcs style, and returns how many.
func writeConstraints(w io.Writer, cfg *api.Config, names func(ids ...string) bool) int {
	n := 0
	setIDs := func(ss []api.ResourceSet) []string {
		var ids []string
		for _, s := range ss {
			ids = append(ids, s.Resources...)
		}
		return ids
	}
	setsText := func(ss []api.ResourceSet) string {
		var parts []string
		for _, s := range ss {
			parts = append(parts, "("+strings.Join(s.Resources, " ")+")")
		}
		return "sets " + strings.Join(parts, " ")
	}
	opt := func(label, v string) string {
		if v == "" {
			return ""
		}
		return " " + label + ":" + v
	}
	for _, l := range cfg.Locations {
		if !names(append(setIDs(l.Sets), l.Resource)...) {
			continue
		}
		what := l.Resource
		if len(l.Sets) > 0 {
			what = setsText(l.Sets)
		} else if l.ResourcePattern != "" {
			what = "pattern " + l.ResourcePattern
		}
		where := "on " + l.Node + " (score:" + l.Score.String() + ")"
		if len(l.Rules) > 0 {
			var rules []string
			for _, r := range l.Rules {
				sc := r.Score.String()
				if r.ScoreAttribute != "" {
					sc = "attribute " + r.ScoreAttribute
				}
				rules = append(rules, "rule '"+model.FormatRule(r)+"' (score:"+sc+")")
			}
			where = "by " + strings.Join(rules, ", ")
		}
		fmt.Fprintf(w, "  location %s: %s %s%s\n", l.ID, what, where, opt("role", l.Role))
		n++
	}
	for _, co := range cfg.Colocations {
		if !names(append(setIDs(co.Sets), co.Resource, co.With)...) {
			continue
		}
		what := co.Resource + " with " + co.With
		if len(co.Sets) > 0 {
			what = setsText(co.Sets)
		}
		fmt.Fprintf(w, "  colocation %s: %s (score:%s)%s%s\n", co.ID, what, co.Score.String(), opt("rsc-role", co.Role),
			opt("with-rsc-role", co.WithRole))
		n++
	}
	for _, o := range cfg.Orders {
		if !names(append(setIDs(o.Sets), o.First, o.Then)...) {
			continue
		}
		what := orDefault(o.FirstAction, "start") + " " + o.First + " then " + orDefault(o.ThenAction, "start") + " " + o.Then
		if len(o.Sets) > 0 {
			what = setsText(o.Sets)
		}
		sym := ""
		if o.Symmetrical != nil && !*o.Symmetrical {
			sym = " symmetrical:false"
		}
		fmt.Fprintf(w, "  order %s: %s (kind:%s)%s\n", o.ID, what, orDefault(o.Kind, "Mandatory"), sym)
		n++
	}
	for _, t := range cfg.Tickets {
		if !names(append(setIDs(t.Sets), t.Resource)...) {
			continue
		}
		fmt.Fprintf(w, "  ticket %s: %s needs ticket %s%s%s\n", t.ID, t.Resource, t.Ticket, opt("role", t.Role), opt("loss-policy", t.LossPolicy))
		n++
	}
	return n
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
