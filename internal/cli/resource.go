package cli

import "github.com/spf13/cobra"

func newResourceCmd(s streams) *cobra.Command {
	return groupCmd("resource", "Create, change, move and clean up resources",
		newResourceCreateCmd(s),
		newResourceUpdateCmd(s),
		newResourceDeleteCmd(s),
		newResourceEnableCmd(s, true),
		newResourceEnableCmd(s, false),
		newResourceMoveCmd(s),
		newResourceBanCmd(s),
		newResourceClearCmd(s),
		newResourceCleanupCmd(s),
		newResourceAgentsCmd(s),
		newResourceDescribeCmd(s),
		newResourceCloneCmd(s, false),
		newResourceCloneCmd(s, true),
		newResourceUncloneCmd(s),
		newResourceGroupCmd(s),
		newDefaultsCmd(s, false),
		newResourceOpCmd(s),
		newResourceManageCmd(s, true),
		newResourceManageCmd(s, false),
		newResourceListCmd(s),
		newResourceShowCmd(s),
		newUtilizationCmd(s, false),
		newResourceRestartCmd(s),
		newResourceSwitchoverCmd(s),
	)
}

// wantsHelp reports whether raw words (of a command that parses its own
// arguments) ask for help.
func wantsHelp(words []string) bool {
	for _, w := range words {
		if w == "-h" || w == "--help" {
			return true
		}
	}
	return false
}
