package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "paceline.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The file sets values, the environment overrides the file, flags override
// both; derived defaults follow the final listen address and profile.
func TestLoadConfigPrecedence(t *testing.T) {
	p := writeFile(t, "name: n1\ndata_dir: /tmp/x/../n1\nlisten: 127.0.0.1:7101\nprofile: fast\nlog_level: warn\n")
	c, err := LoadConfig(p, []string{"PACELINE_LOG_LEVEL=debug", "PACELINE_LISTEN=127.0.0.1:7201", "PACELINE_ADDR=https://x:1", "HOME=/root"},
		map[string]string{"listen": "127.0.0.1:7301"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "n1" || c.DataDir != "/tmp/n1" || c.LogLevel != "debug" || c.Listen != "127.0.0.1:7301" {
		t.Errorf("got name=%q data_dir=%q log_level=%q listen=%q", c.Name, c.DataDir, c.LogLevel, c.Listen)
	}
	if c.Advertise != "127.0.0.1:7301" || c.RaftListen != "127.0.0.1:8301" {
		t.Errorf("derived advertise=%q raft_listen=%q, want 127.0.0.1:7301 and 127.0.0.1:8301", c.Advertise, c.RaftListen)
	}
	if c.Heartbeat != 100*time.Millisecond || c.LeaseTTL != 600*time.Millisecond || c.SelfFenceDeadline != 300*time.Millisecond {
		t.Errorf("fast profile timings: %v %v %v", c.Heartbeat, c.LeaseTTL, c.SelfFenceDeadline)
	}
}

// An explicit timing beats the profile's.
func TestLoadConfigTimingOverridesProfile(t *testing.T) {
	c, err := LoadConfig(writeFile(t, "name: n1\nlisten: 10.0.0.1:7100\nlease_ttl: 3s\n"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Heartbeat != 200*time.Millisecond || c.LeaseTTL != 3*time.Second || c.SelfFenceDeadline != time.Second {
		t.Errorf("got %v %v %v", c.Heartbeat, c.LeaseTTL, c.SelfFenceDeadline)
	}
}

// Without --config a missing default file is fine; a named one must exist.
func TestLoadConfigMissingFile(t *testing.T) {
	_, err := LoadConfig(filepath.Join(t.TempDir(), "nope.yaml"), nil, nil)
	if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("named missing file: %v", err)
	}
}

// Every bad input is refused with a message that names the key and where
// the value came from.
func TestLoadConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		file  string
		env   []string
		flags map[string]string
		want  []string
	}{
		{name: "unknown key", file: "name: n1\nlisten: 127.0.0.1:1\nlisen: x\n", want: []string{"line 3", "lisen"}},
		{name: "two documents", file: "name: n1\n---\nname: n2\n", want: []string{"more than one YAML document"}},
		{name: "wrong type", file: "name: n1\nagent_dirs: 3\n", want: []string{"paceline.yaml"}},
		{name: "bad duration in env", file: "name: n1\nlisten: 127.0.0.1:1\n", env: []string{"PACELINE_HEARTBEAT=fast"},
			want: []string{"environment PACELINE_HEARTBEAT", `"fast" is not a duration`}},
		{name: "bad duration flag", file: "name: n1\n", flags: map[string]string{"lease_ttl": "1"}, want: []string{"flag --lease-ttl"}},
		{name: "all problems at once", file: "role: voter\nlisten: 127.0.0.1:7100\nprofile: turbo\nlog_level: loud\nagent_dirs: [rel]\nwatchdog: /tmp/w\n",
			want: []string{"name: required", `role: "voter"`, `profile: "turbo"`, `log_level: "loud"`, `agent_dirs: "rel"`, `watchdog: "/tmp/w"`}},
		{name: "wildcard listen needs advertise", file: "name: n1\nlisten: 0.0.0.0:7100\n", want: []string{"advertise: required"}},
		{name: "advertise wildcard", file: "name: n1\nadvertise: 0.0.0.0:7100\n", want: []string{"advertise:", "not a wildcard"}},
		{name: "lease shorter than two heartbeats", file: "name: n1\nlisten: 127.0.0.1:1\nheartbeat: 1s\nlease_ttl: 1s\n", want: []string{"lease_ttl: 1s must be at least twice"}},
		{name: "bad name", file: "name: 'n 1'\nlisten: 127.0.0.1:1\n", want: []string{`name: "n 1"`}},
		{name: "raft port out of range", file: "name: n1\nlisten: 127.0.0.1:65000\n", want: []string{"raft_listen: required"}},
		{name: "relative log file", file: "name: n1\nlisten: 127.0.0.1:1\n", env: []string{"PACELINE_LOG_FILE=paceline.log"},
			want: []string{`log_file: "paceline.log" must be an absolute path`}},
		{name: "same ports", file: "name: n1\nlisten: 127.0.0.1:7100\nraft_listen: 127.0.0.1:7100\n", want: []string{"same as listen"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(writeFile(t, tc.file), tc.env, tc.flags)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error does not wrap ErrConfig: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestDefaultsAreValidOnceNamed(t *testing.T) {
	c := DefaultConfig()
	c.Name = "n1"
	c.Advertise = "192.0.2.1:7100"
	c.resolve()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.RaftListen != "0.0.0.0:8100" {
		t.Errorf("raft_listen default %q", c.RaftListen)
	}
}

// The run directory (HA_RSCTMP, pid files) is per node and one a reboot
// clears: under /run as root, never under the data directory.
func TestRunDirDefaultsToRun(t *testing.T) {
	c, err := LoadConfig(writeFile(t, "name: n7\ndata_dir: /var/lib/pl-x\nlisten: 10.0.0.1:7100\n"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := defaultRunDir("n7")
	if os.Geteuid() == 0 {
		want = "/run/paceline/n7"
	}
	if c.RunDir != want || strings.HasPrefix(c.RunDir, c.DataDir) {
		t.Errorf("run_dir %q, want %q (not under data_dir %q)", c.RunDir, want, c.DataDir)
	}
	c, err = LoadConfig(writeFile(t, "name: n7\nlisten: 10.0.0.1:7100\n"), nil, map[string]string{"run_dir": "/tmp/pl-run/n7"})
	if err != nil || c.RunDir != "/tmp/pl-run/n7" {
		t.Errorf("--run-dir: %q, %v", c.RunDir, err)
	}
	if _, err := LoadConfig(writeFile(t, "name: n7\nlisten: 10.0.0.1:7100\nrun_dir: rel/dir\n"), nil, nil); err == nil || !strings.Contains(err.Error(), "run_dir") {
		t.Errorf("relative run_dir: %v, want an error naming run_dir", err)
	}
}
