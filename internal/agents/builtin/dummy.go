package builtin

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"github.com/paceline/paceline/internal/agents"
)

// dummy records its role in RunDir/dummy-ID.state: absent when stopped,
// "started" or "promoted". Parameters: op_sleep (a Go duration or seconds,
// every action waits that long first, for timeout tests) and fake (ignored,
// as Dummy's). Monitor returns 0, 8 when promoted or 7 when stopped.
func (c *Class) dummy(ctx context.Context, req *agents.Request) agents.Result {
	if s := req.Params["op_sleep"]; s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			d, err = time.ParseDuration(s + "s")
		}
		if err != nil {
			return rc(agents.RCNotConfigured, "op_sleep %q is not a duration", s)
		}
		sleep(ctx, d)
		if ctx.Err() != nil {
			return ok() // Run reports the interruption
		}
	}
	file := c.path("dummy", req.ResourceID, ".state")
	state, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return rc(agents.RCUnknownError, "read state: %v", err)
	}
	role := strings.TrimSpace(string(state))
	set := func(r string) agents.Result {
		if err := os.WriteFile(file, []byte(r+"\n"), 0o600); err != nil {
			return rc(agents.RCUnknownError, "write state: %v", err)
		}
		return ok()
	}
	switch req.Op {
	case "start", "migrate_from":
		if role != "" {
			return ok()
		}
		return set("started")
	case "stop", "migrate_to":
		if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
			return rc(agents.RCUnknownError, "remove state: %v", err)
		}
		return ok()
	case "monitor":
		switch role {
		case "":
			return rc(agents.RCNotRunning, "")
		case "promoted":
			return rc(agents.RCRunningPromoted, "")
		}
		return ok()
	case "promote":
		if role == "" {
			return rc(agents.RCUnknownError, "cannot promote a stopped resource")
		}
		return set("promoted")
	case "demote":
		if role == "" {
			return rc(agents.RCUnknownError, "cannot demote a stopped resource")
		}
		return set("started")
	case "notify", "reload", "reload-agent", "validate-all":
		return ok()
	case "meta-data":
		return agents.Result{RC: agents.RCOK, Status: agents.StatusDone, Output: dummyMetadata}
	}
	return agents.Result{RC: agents.RCUnimplemented, Status: agents.StatusNotSupported, ExitReason: "dummy has no action " + req.Op}
}

const dummyMetadata = `<?xml version="1.0"?>
<resource-agent name="dummy" version="1.0">
<version>1.1</version>
<shortdesc lang="en">Records whether it runs; does nothing else</shortdesc>
<parameters>
<parameter name="op_sleep"><shortdesc lang="en">Delay of every action (duration)</shortdesc><content type="string" default="0"/></parameter>
<parameter name="fake" reloadable="1"><shortdesc lang="en">Ignored (reloadable)</shortdesc><content type="string" default="dummy"/></parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/><action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s" depth="0"/>
<action name="promote" timeout="10s"/><action name="demote" timeout="10s"/>
<action name="migrate_to" timeout="20s"/><action name="migrate_from" timeout="20s"/>
<action name="notify" timeout="5s"/><action name="reload-agent" timeout="20s"/>
<action name="meta-data" timeout="5s"/><action name="validate-all" timeout="20s"/>
</actions>
</resource-agent>
`
