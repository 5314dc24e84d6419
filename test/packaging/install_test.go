package packaging

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// systemdHost skips the test unless this is a host where systemd runs as
// PID 1, the test runs as root, and no Paceline is installed or
// initialised yet (the test installs, starts and purges it).
func systemdHost(t *testing.T) {
	t.Helper()
	comm, _ := os.ReadFile("/proc/1/comm")
	if _, err := os.Stat("/run/systemd/system"); err != nil || strings.TrimSpace(string(comm)) != "systemd" {
		t.Skipf("NOTICE: systemd is not PID 1 here (PID 1 is %q): the install test is skipped", strings.TrimSpace(string(comm)))
	}
	if os.Geteuid() != 0 {
		t.Skip("NOTICE: the install test needs root: skipped")
	}
	if exec.Command("dpkg", "-s", "paceline").Run() == nil {
		t.Skip("NOTICE: paceline is installed on this host: the install test does not touch it")
	}
	for _, d := range []string{"/var/lib/paceline", "/var/log/paceline", "/etc/paceline"} {
		if _, err := os.Stat(d); err == nil {
			t.Skipf("NOTICE: %s exists on this host: the install test does not touch it", d)
		}
	}
}

// systemctlShow returns one property of the unit.
func systemctlShow(t *testing.T, prop string) string {
	t.Helper()
	return strings.TrimSpace(strings.TrimPrefix(run(t, "systemctl", "show", "paceline.service", "-p", prop), prop+"="))
}

// A fresh install: the unit is enabled but does not start before init;
// after init it starts an agent that leads its one-node cluster and logs
// to /var/log/paceline; systemctl stop sends it SIGTERM and it exits.
func TestDebInstallsAndUnitStartsAgent(t *testing.T) {
	systemdHost(t)
	deb := buildDeb(t)
	run(t, "dpkg", "-i", deb)
	t.Cleanup(func() {
		exec.Command("systemctl", "stop", "paceline.service").Run()
		if out, err := exec.Command("dpkg", "-P", "paceline").CombinedOutput(); err != nil {
			t.Errorf("dpkg -P paceline: %v\n%s", err, out)
		}
		os.RemoveAll("/var/lib/paceline")
		os.RemoveAll("/var/log/paceline")
		os.RemoveAll("/etc/paceline")
	})
	unit, _ := os.ReadFile("/usr/lib/systemd/system/paceline.service")
	t.Logf("installed unit:\n%s", unit)
	if fi, err := os.Stat("/var/lib/paceline"); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("/var/lib/paceline after install: %v %v", fi, err)
	}
	if _, err := exec.LookPath("deb-systemd-helper"); err == nil {
		if out, _ := exec.Command("systemctl", "is-enabled", "paceline.service").Output(); strings.TrimSpace(string(out)) != "enabled" {
			t.Errorf("systemctl is-enabled: %q", out)
		}
	}
	if got := systemctlShow(t, "KillMode"); got != "process" {
		t.Errorf("KillMode %q", got)
	}
	// Before init there is nothing to run.
	run(t, "systemctl", "start", "paceline.service")
	if got := systemctlShow(t, "ConditionResult"); got != "no" {
		t.Errorf("started before init: ConditionResult=%s", got)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	run(t, "/usr/bin/paceline", "init", "--name", "pkgtest", "--data-dir", "/var/lib/paceline", "--listen", addr)
	run(t, "systemctl", "start", "paceline.service")
	env := append(os.Environ(), "PACELINE_ADDR=https://"+addr, "PACELINE_TOKEN_FILE=/var/lib/paceline/admin.token",
		"PACELINE_CACERT=/var/lib/paceline/ca.pem")
	var leader string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && leader != "pkgtest"; time.Sleep(300 * time.Millisecond) {
		cmd := exec.Command("/usr/bin/paceline", "status", "--json")
		cmd.Env = env
		out, err := cmd.Output()
		var st struct{ Leader string }
		if err == nil && json.Unmarshal(out, &st) == nil {
			leader = st.Leader
		}
	}
	if leader != "pkgtest" {
		t.Fatalf("the unit's agent did not lead its cluster in 30s:\n%s", run(t, "journalctl", "-u", "paceline.service", "--no-pager", "-n", "50"))
	}
	pid := systemctlShow(t, "MainPID")
	if pid == "0" || pid == "" {
		t.Errorf("MainPID %q", pid)
	}
	if fi, err := os.Stat(filepath.Join("/var/log/paceline", "paceline.log")); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() == 0 {
		t.Errorf("agent log file: %v %v", fi, err)
	}
	start := time.Now()
	run(t, "systemctl", "stop", "paceline.service")
	if out, _ := exec.Command("systemctl", "is-active", "paceline.service").Output(); strings.TrimSpace(string(out)) != "inactive" {
		t.Errorf("after stop: %q", out)
	}
	if _, err := os.Stat("/proc/" + pid); err == nil {
		t.Errorf("agent %s still runs after stop", pid)
	}
	t.Logf("systemctl stop took %v", time.Since(start).Round(time.Millisecond))
}
