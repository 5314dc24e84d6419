package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/spf13/cobra"
)

// newVMCmd returns "vm": VM high availability in ZStack's words, over the
// same API calls as the resource commands (vm stop is a disable, vm start
// an enable, vm migrate a move).
func newVMCmd(s streams) *cobra.Command {
	return groupCmd("vm", "List, start, stop and migrate VMs (builtin:vm and VirtualDomain resources) and set their HA level",
		newVMListCmd(s),
		newVMShowCmd(s),
		newVMStartCmd(s),
		newVMStopCmd(s),
		newVMHACmd(s),
		newVMMigrateCmd(s),
	)
}

// vmResource finds the VM id in cfg: a top-level builtin:vm or
// VirtualDomain primitive.
func vmResource(cfg *api.Config, id string) (*api.Resource, error) {
	r := findResource(cfg.Resources, id)
	if r == nil {
		return nil, fmt.Errorf("VM %s not found", quote(id))
	}
	if !r.IsVM() || !slices.ContainsFunc(cfg.Resources, func(t api.Resource) bool { return t.ID == id }) {
		return nil, fmt.Errorf("resource %s is not a VM (a builtin:vm or ocf:heartbeat:VirtualDomain resource outside groups and clones)", quote(id))
	}
	return r, nil
}

// editVM changes one VM with fn (editConfig: compare-and-set, retried).
func editVM(ctx context.Context, c *api.Client, what, id string, fn func(*api.Resource) error) error {
	return editConfig(ctx, c, what, func(cfg *api.Config) error {
		r, err := vmResource(cfg, id)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

// haLevel reads a level argument: NeverStop or None, any letter case.
func haLevel(arg string) (string, error) {
	for _, l := range []string{model.HALevelNeverStop, model.HALevelNone} {
		if strings.EqualFold(arg, l) {
			return l, nil
		}
	}
	return "", usagef("HA level %q: want NeverStop or None", arg)
}

// vmStorage is a VM's storage (model.Resource.VMStorage).
func vmStorage(r *api.Resource) string { return r.VMStorage() }
