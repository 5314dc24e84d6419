package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

func newConfigApplyCmd(s streams) *cobra.Command {
	var file string
	var force, replace, dryRun bool
	cmd := &cobra.Command{
		Use:   "apply -f FILE [--replace] [--dry-run] [--force]",
		Short: "Apply a YAML configuration (from 'config export'), showing what changes",
		Long: `Apply FILE (YAML, the schema "config export" prints; "-" reads stdin) as the
whole configuration. What changes is printed first, object by object
("+ resource web", "- location x", "~ order o1"). A file that would remove
resources or constraints is refused unless --replace says the file is
meant to be the whole configuration (a file holding one resource would
otherwise delete every other). --dry-run prints the changes and the
transition the scheduler would run on the current state, and changes
nothing.

The file's epoch must be the current one, so a change someone else made
since the export is never overwritten silently; --force applies over any
epoch.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, cfg, err := readConfigFile(cmd, file)
			if err != nil {
				return err
			}
			c, err := connect()
			if err != nil {
				return err
			}
			cur, err := c.Config(cmd.Context())
			if err != nil {
				return failure("config apply", "", err)
			}
			cfg.NormalizeRoles()
			changes := model.DiffConfigs(cur, cfg)
			if dryRun {
				dr, err := c.DryRunConfigYAML(cmd.Context(), doc, force)
				if err != nil {
					return applyFailure(file, err)
				}
				writeChanges(s.Out, dr.Changes)
				fmt.Fprintln(s.Out, "\nTransition Summary:")
				if len(dr.Transition) == 0 {
					fmt.Fprintln(s.Out, "  (nothing to do)")
				}
				for _, t := range dr.Transition {
					fmt.Fprintf(s.Out, "  * %s\n", t)
				}
				_, err = fmt.Fprintf(s.Out, "dry run: nothing applied (epoch %d)\n", dr.Epoch)
				return err
			}
			if rm := model.Removes(changes); len(rm) > 0 && !replace {
				var names []string
				for _, r := range rm {
					names = append(names, r.Object+" "+quote(r.ID))
				}
				return fmt.Errorf("config apply: %s would remove %s; --replace applies it as the whole configuration (nothing was changed)",
					file, strings.Join(names, ", "))
			}
			res, err := c.ApplyConfigYAML(cmd.Context(), doc, force)
			if err != nil {
				return applyFailure(file, err)
			}
			writeChanges(s.Out, changes)
			if !res.Changed {
				_, err = fmt.Fprintf(s.Out, "configuration unchanged (epoch %d)\n", res.Epoch)
				return err
			}
			_, err = fmt.Fprintf(s.Out, "configuration applied (epoch %d)\n", res.Epoch)
			return err
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the YAML file to apply (- for stdin)")
	cmd.Flags().BoolVar(&force, "force", false, "apply even if the configuration changed since the file's epoch")
	cmd.Flags().BoolVar(&replace, "replace", false, "apply even if the file removes resources or constraints")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show the changes and the scheduler's transition; change nothing")
	return cmd
}

func newConfigDiffCmd(s streams) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "diff -f FILE",
		Short: "Show what applying a YAML configuration would change",
		Long: `Compare FILE (YAML, as "config export" prints; "-" reads stdin) with the
current configuration and print the differences object by object: "+"
added, "-" removed, "~" changed (resources at any depth, constraints,
nodes, properties, defaults). Nothing is changed.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, cfg, err := readConfigFile(cmd, file)
			if err != nil {
				return err
			}
			c, err := connect()
			if err != nil {
				return err
			}
			cur, err := c.Config(cmd.Context())
			if err != nil {
				return failure("config diff", "", err)
			}
			cfg.NormalizeRoles()
			writeChanges(s.Out, model.DiffConfigs(cur, cfg))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the YAML file to compare (- for stdin)")
	return cmd
}

// readConfigFile reads and decodes -f FILE.
func readConfigFile(cmd *cobra.Command, file string) ([]byte, *api.Config, error) {
	if file == "" {
		return nil, nil, usagef("%s needs -f FILE (see '%s --help')", cmdName(cmd), cmd.CommandPath())
	}
	var doc []byte
	var err error
	if file == "-" {
		doc, err = readAll(cmd.InOrStdin())
	} else {
		doc, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", cmdName(cmd), err)
	}
	cfg, err := api.DecodeConfigYAML(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %s: %v", cmdName(cmd), file, err)
	}
	return doc, cfg, nil
}

// applyFailure explains a refused apply.
func applyFailure(file string, err error) error {
	var ae *api.Error
	if errors.As(err, &ae) && ae.StatusCode == http.StatusConflict {
		return fmt.Errorf("config apply: the configuration changed since %s was exported (%s); export it again, or use --force",
			file, ae.Message)
	}
	return failure("config apply", "", err)
}

// writeChanges prints configuration differences, one per line.
func writeChanges(w io.Writer, changes []api.ConfigChange) {
	if len(changes) == 0 {
		fmt.Fprintln(w, "no changes")
		return
	}
	mark := map[string]string{model.Added: "+", model.Removed: "-", model.Changed: "~"}
	for _, c := range changes {
		fmt.Fprintf(w, "%s %s %s\n", mark[c.Kind], c.Object, c.ID)
	}
}
