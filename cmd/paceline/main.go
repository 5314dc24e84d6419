// Command paceline is the Paceline high-availability cluster manager.
// Everything lives in internal/cli; main connects it to the process and
// hands it the daemon for the node-side commands (init, agent, compat).
// Run under the name of a Pacemaker helper (crm_node, crm_attribute, ...),
// it is that helper (package compat).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/paceline/paceline/internal/cli"
	"github.com/paceline/paceline/internal/compat"
	"github.com/paceline/paceline/internal/daemon"
	"github.com/paceline/paceline/internal/watchdog"
)

func main() {
	// Run as crm_node, crm_attribute, ... (the links `paceline agent`
	// installs for OCF agents), it is that Pacemaker helper.
	if tool := filepath.Base(os.Args[0]); compat.IsTool(tool) {
		os.Exit(compat.Main(tool, os.Args[1:], compat.Env{Getenv: os.Getenv, Out: os.Stdout, Err: os.Stderr}))
	}
	// The agent runs with the runtime's system monitor polling (sysmon.go).
	quietSysmon(os.Args, os.Environ())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.MainDaemon(ctx, os.Args[1:], os.Stdout, os.Stderr, node{})
	stop()
	os.Exit(code)
}

// node adapts the daemon package to cli.Daemon.
type node struct{}

func (node) Init(o cli.InitOptions) (string, string, error) {
	r, err := daemon.Init(daemon.InitOptions{Name: o.Name, Role: o.Role, DataDir: o.DataDir, Listen: o.Listen, Advertise: o.Advertise, TwoNode: o.TwoNode})
	return r.AdminToken, r.CACert, err
}

func (node) Join(ctx context.Context, o cli.InitOptions, token, seed string) error {
	return daemon.Join(ctx, daemon.JoinOptions{Name: o.Name, Role: o.Role, DataDir: o.DataDir, Listen: o.Listen, Advertise: o.Advertise, Token: token, Seed: seed})
}

func (node) WatchdogSim(ctx context.Context, socket, netns string, timeout time.Duration, log io.Writer) error {
	logf := func(format string, args ...any) { fmt.Fprintf(log, "watchdog-sim: "+format+"\n", args...) }
	return watchdog.RunSim(ctx, watchdog.SimConfig{Socket: socket, Netns: netns, Timeout: timeout, Logf: logf})
}

func (node) Compat(tool string, args []string, stdout, stderr io.Writer) int {
	return compat.Main(tool, args, compat.Env{Getenv: os.Getenv, Out: stdout, Err: stderr})
}

func (node) Agent(ctx context.Context, configPath string, flags map[string]string, log io.Writer) error {
	c, err := daemon.LoadConfig(configPath, os.Environ(), flags)
	if err != nil {
		return err
	}
	return daemon.Run(ctx, c, log)
}
