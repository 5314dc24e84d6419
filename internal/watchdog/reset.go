package watchdog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// validNetns checks a network namespace name before it goes to ip(8) as
// an argument (never through a shell).
func validNetns(name string) error {
	if name == "" {
		return errors.New("watchdog: sim: no network namespace")
	}
	if strings.HasPrefix(name, "-") || strings.ContainsAny(name, "/\x00 \t\n") || name == "." || name == ".." {
		return fmt.Errorf("watchdog: sim: invalid network namespace name %q", name)
	}
	return nil
}

// ResetNetns simulates a watchdog reset of the test host that is network
// namespace netns: it SIGKILLs every process in the namespace ("ip netns
// pids", repeated until none is left, since a dying parent may have forked)
// and flushes the addresses of every link but lo ("ip -n NS addr flush").
// Processes outside the namespace, including the caller, are untouched.
// logf may be nil.
func ResetNetns(ctx context.Context, netns string, logf func(format string, args ...any)) error {
	if err := validNetns(netns); err != nil {
		return err
	}
	if logf == nil {
		logf = func(string, ...any) {}
	}
	var errs []error
	self := os.Getpid()
	for round := 0; round < 5; round++ {
		out, err := ipCmd(ctx, "netns", "pids", netns)
		if err != nil {
			errs = append(errs, err)
			break
		}
		pids := strings.Fields(string(out))
		killed := 0
		for _, p := range pids {
			pid, err := strconv.Atoi(p)
			if err != nil || pid <= 1 || pid == self {
				continue
			}
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("watchdog: kill %d in %s: %w", pid, netns, err))
				continue
			}
			killed++
		}
		if killed == 0 {
			break
		}
		logf("watchdog sim: killed %d processes in %s", killed, netns)
	}

	out, err := ipCmd(ctx, "-n", netns, "-j", "link", "show")
	if err != nil {
		errs = append(errs, err)
		return errors.Join(errs...)
	}
	var links []struct {
		IfName string `json:"ifname"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		errs = append(errs, fmt.Errorf("watchdog: read links of %s: %w", netns, err))
		return errors.Join(errs...)
	}
	for _, l := range links {
		if l.IfName == "" || l.IfName == "lo" {
			continue
		}
		if _, err := ipCmd(ctx, "-n", netns, "addr", "flush", "dev", l.IfName); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ipCmd runs ip(8) with args and returns its standard output.
func ipCmd(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "ip", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("watchdog: ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
