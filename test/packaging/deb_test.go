// Package packaging builds the Debian package with packaging/build-deb.sh
// (what "make deb" runs) and checks it as dpkg sees it: the control
// fields, the file list, the conffile, the systemd unit's stop, the
// stamped version, the man pages and completions, and that the example
// configuration loads. Where systemd runs as PID 1 and nothing of
// Paceline is installed yet, it also installs the package and starts and
// stops the unit (skipped with a notice elsewhere).
package packaging

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/daemon"
)

// testVersion is stamped into the test package.
const testVersion = "9.8.7~test1"

var (
	buildOnce sync.Once
	debPath   string
	buildErr  error
	buildOut  []byte
)

// buildDeb runs packaging/build-deb.sh once per test binary.
func buildDeb(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("package build skipped in -short mode")
	}
	for _, tool := range []string{"dpkg-deb", "dpkg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("NOTICE: %s is not installed (Debian package dpkg): the package test is skipped", tool)
		}
	}
	buildOnce.Do(func() {
		out, err := os.MkdirTemp("", "pl-deb-")
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("../../packaging/build-deb.sh", out)
		cmd.Env = append(os.Environ(), "VERSION="+testVersion)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		buildOut, buildErr = append(b, stderr.Bytes()...), err
		debPath = strings.TrimSpace(string(b))
	})
	if buildErr != nil {
		t.Fatalf("build-deb.sh: %v\n%s", buildErr, buildOut)
	}
	return debPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if debPath != "" {
		os.RemoveAll(filepath.Dir(debPath))
	}
	os.Exit(code)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// unitSettings parses a systemd unit file's Key=Value lines.
func unitSettings(b []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

func gunzip(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, _ := io.ReadAll(zr)
	return string(b)
}

func TestDebPackageContents(t *testing.T) {
	deb := buildDeb(t)
	arch := strings.TrimSpace(run(t, "dpkg", "--print-architecture"))
	if filepath.Base(deb) != "paceline_"+testVersion+"_"+arch+".deb" {
		t.Errorf("package file %s", deb)
	}
	info := run(t, "dpkg", "-I", deb)
	t.Logf("dpkg -I %s:\n%s", filepath.Base(deb), info)
	for _, want := range []string{"Package: paceline\n", "Version: " + testVersion + "\n", "Architecture: " + arch + "\n",
		"Section: admin\n", "Recommends: resource-agents\n", " conffiles", " postinst", " prerm", " postrm"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg -I lacks %q", strings.TrimSpace(want))
		}
	}
	list := run(t, "dpkg", "-c", deb)
	for _, want := range []string{
		"-rwxr-xr-x root/root .* ./usr/bin/paceline",
		"-rw-r--r-- root/root .* ./usr/lib/systemd/system/paceline.service",
		"-rw-r--r-- root/root .* ./etc/paceline/paceline.yaml",
		"./usr/share/man/man1/paceline.1.gz",
		"./usr/share/man/man1/paceline-agent.1.gz",
		"./usr/share/man/man1/paceline-report.1.gz",
		"./usr/share/bash-completion/completions/paceline",
		"./usr/share/zsh/vendor-completions/_paceline",
	} {
		found := false
		for _, line := range strings.Split(list, "\n") {
			if matchLine(line, want) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("dpkg -c lacks %s", want)
		}
	}
	if strings.Contains(list, "gen-docs") {
		t.Error("the hidden gen-docs command has a man page")
	}

	ctl := t.TempDir()
	run(t, "dpkg-deb", "-e", deb, ctl)
	if b, _ := os.ReadFile(filepath.Join(ctl, "conffiles")); string(b) != "/etc/paceline/paceline.yaml\n" {
		t.Errorf("conffiles %q", b)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if fi, err := os.Stat(filepath.Join(ctl, s)); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v %v", s, fi, err)
		}
		run(t, "sh", "-n", filepath.Join(ctl, s))
	}

	root := t.TempDir()
	run(t, "dpkg-deb", "-x", deb, root)
	unit, err := os.ReadFile(filepath.Join(root, "usr/lib/systemd/system/paceline.service"))
	if err != nil {
		t.Fatal(err)
	}
	u := unitSettings(unit)
	if u["ExecStart"] != "/usr/bin/paceline agent --config /etc/paceline/paceline.yaml" {
		t.Errorf("ExecStart=%s", u["ExecStart"])
	}
	// Stop is the agent's drain: SIGTERM to the main process only, and
	// time for a 20-minute drain.
	if u["KillMode"] != "process" || u["KillSignal"] != "SIGTERM" {
		t.Errorf("KillMode=%s KillSignal=%s, want process and SIGTERM", u["KillMode"], u["KillSignal"])
	}
	stop, err := time.ParseDuration(strings.Replace(u["TimeoutStopSec"], "min", "m", 1))
	if drain := daemon.DefaultConfig().ShutdownTimeout; err != nil || stop < 20*time.Minute || stop <= drain {
		t.Errorf("TimeoutStopSec=%s: want at least 20min and more than the agent's drain (shutdown_timeout %v) (%v)", u["TimeoutStopSec"], drain, err)
	}
	if u["WantedBy"] != "multi-user.target" {
		t.Errorf("WantedBy=%s", u["WantedBy"])
	}
	// systemd parses it without complaint (it only cannot see the binary,
	// which is not installed here).
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		out, _ := exec.Command("systemd-analyze", "verify", "--man=no", filepath.Join(root, "usr/lib/systemd/system/paceline.service")).CombinedOutput()
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if line != "" && !strings.Contains(line, "/usr/bin/paceline is not executable") {
				t.Errorf("systemd-analyze verify: %s", line)
			}
		}
	}

	// The binary names the package version.
	var v struct{ Version string }
	out := run(t, filepath.Join(root, "usr/bin/paceline"), "version", "--json")
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Version != testVersion {
		t.Errorf("paceline version --json: %q (%v), want version %s", out, err, testVersion)
	}
	if out := run(t, filepath.Join(root, "usr/bin/paceline"), "version"); !strings.HasPrefix(out, "paceline "+testVersion+" ") {
		t.Errorf("paceline version: %q", out)
	}

	man := gunzip(t, filepath.Join(root, "usr/share/man/man1/paceline-report.1.gz"))
	if !strings.Contains(man, `.TH "PACELINE" "1"`) || !strings.Contains(man, "Paceline "+testVersion) || !strings.Contains(man, "since") {
		t.Errorf("paceline-report.1:\n%s", man)
	}
	bash, _ := os.ReadFile(filepath.Join(root, "usr/share/bash-completion/completions/paceline"))
	zsh, _ := os.ReadFile(filepath.Join(root, "usr/share/zsh/vendor-completions/_paceline"))
	if !bytes.Contains(bash, []byte("complete -o default -F __start_paceline paceline")) {
		t.Error("bash completion does not register for paceline")
	}
	if !bytes.HasPrefix(zsh, []byte("#compdef paceline")) {
		t.Errorf("zsh completion starts %q", zsh[:min(len(zsh), 40)])
	}

	// The example configuration is one the agent accepts.
	c, err := daemon.LoadConfig(filepath.Join(root, "etc/paceline/paceline.yaml"), nil,
		map[string]string{"name": "n1", "listen": "127.0.0.1:7100", "data_dir": t.TempDir()})
	if err != nil {
		t.Fatalf("example configuration: %v", err)
	}
	if c.LogFile != "/var/log/paceline/paceline.log" {
		t.Errorf("example log_file %q", c.LogFile)
	}
}

// matchLine reports whether a dpkg -c line matches want: "MODE OWNER .*
// PATH" (the size and date in between skipped) or just a path.
func matchLine(line, want string) bool {
	before, path, ok := strings.Cut(want, " .* ")
	if !ok {
		return strings.HasSuffix(line, " "+want)
	}
	return strings.HasPrefix(strings.Join(strings.Fields(line)[:2], " "), before) && strings.HasSuffix(line, " "+path)
}
