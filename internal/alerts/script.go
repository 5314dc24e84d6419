package alerts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/paceline/paceline/internal/store"
)

// ErrUnsafeScript reports a script alert that is not run: missing, not a
// regular executable file, or writable by others.
var ErrUnsafeScript = errors.New("alerts: unsafe script")

// CheckScript returns nil when path may be run as an alert agent.
func CheckScript(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", ErrUnsafeScript, err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%w: %s is not a regular file", ErrUnsafeScript, path)
	case fi.Mode().Perm()&0o002 != 0:
		return fmt.Errorf("%w: %s is world-writable (mode %04o): anyone could change what the cluster runs", ErrUnsafeScript, path, fi.Mode().Perm())
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%w: %s is not executable (mode %04o)", ErrUnsafeScript, path, fi.Mode().Perm())
	}
	return nil
}

// maxScriptOutput bounds what a script's output may add to a failure.
const maxScriptOutput = 4096

// script runs the alert agent with the CRM_alert_* environment (and a
// minimal PATH), no arguments, no shell, in its own process group: killed
// with the whole group at the context's deadline.
func (d *Deliverer) script(ctx context.Context, a store.Alert, e store.Event) error {
	if err := CheckScript(a.Script); err != nil {
		return err
	}
	cmd := exec.Command(a.Script)
	cmd.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Environment(e, a.Recipient, d.seq.Add(1))...)
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &limited{buf: &out}, &limited{buf: &out}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("script %s: %w", a.Script, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("script %s: %v: %s", a.Script, err, oneLine(out.String()))
		}
		return nil
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("script %s did not finish within %v: killed", a.Script, d.cfg.ScriptTimeout)
		}
		return fmt.Errorf("script %s: killed: %w", a.Script, ctx.Err())
	}
}

// limited keeps the first maxScriptOutput bytes written to it.
type limited struct{ buf *bytes.Buffer }

func (l *limited) Write(p []byte) (int, error) {
	if room := maxScriptOutput - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
