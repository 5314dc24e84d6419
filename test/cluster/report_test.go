package cluster

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// readArchive returns the files of a tar.gz by name, and each entry's mode.
func readArchive(t *testing.T, path string) (map[string][]byte, map[string]int64) {
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
	tr := tar.NewReader(zr)
	files, modes := map[string][]byte{}, map[string]int64{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, _ := io.ReadAll(tr)
		files[hdr.Name], modes[hdr.Name] = b, hdr.Mode
	}
	return files, modes
}

// "paceline report" on a 3-node cluster with one node down: one archive
// with the cluster's state and each reachable node's version, Raft state
// and agent log (log_file), the down node listed as unreachable, no
// secret value anywhere.
func TestReportWithOneNodeDown(t *testing.T) {
	h, _ := startCluster(t)
	var addrs []string
	for _, n := range []string{"n1", "n2", "n3"} {
		addrs = append(addrs, "https://"+h.addr(n))
	}
	h.env = append(h.env, "PACELINE_ADDR="+strings.Join(addrs, ","))
	// Restart each agent with a log file (log_file through the
	// environment), one at a time.
	base := h.env
	for _, n := range []string{"n1", "n2", "n3"} {
		h.kill(n)
		h.env = append(slices.Clip(base), "PACELINE_LOG_FILE="+filepath.Join(h.dir, "logs", n, "agent.log"))
		h.agent(n)
		h.env = base
		h.waitStatus(n+" back with a log file", 30*time.Second, func(st *status) bool {
			role, nodes := h.web(st)
			return st.Quorum && st.Leader != "" && st.online() == 3 && role == "Started" && len(nodes) == 1
		})
	}
	logPath := filepath.Join(h.dir, "logs", "n1", "agent.log")
	if fi, err := os.Stat(logPath); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() == 0 {
		t.Errorf("n1's log file: %v, %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Dir(logPath)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("n1's log directory: %v, %v", fi, err)
	}

	const secret = "S3cret-report-7f3a91"
	pw := filepath.Join(h.dir, "pw")
	os.WriteFile(pw, []byte(secret+"\n"), 0o600)
	// The restarts may still be settling (an election on a loaded host):
	// a change not committed is tried again.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, err := h.run("resource", "create", "db", "builtin:dummy", "--secret-file", "fake="+pw)
		if err == nil || strings.Contains(err.Error(), `"db" exists`) {
			break
		}
		if !strings.Contains(err.Error(), "not committed") || time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	h.waitStatus("db Started", 20*time.Second, func(st *status) bool {
		for _, r := range st.Resources {
			if r.ID == "db" {
				return r.Role == "Started"
			}
		}
		return false
	})
	h.kill("n3")

	// Bad input changes nothing.
	out := filepath.Join(h.dir, "report.tar.gz")
	if _, err := h.run("report", "--since", "soon", "-o", out); err == nil || !strings.Contains(err.Error(), "--since") {
		t.Errorf("report --since soon: %v", err)
	}
	os.WriteFile(out, []byte("keep"), 0o600)
	if _, err := h.run("report", "-o", out); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("report over an existing file: %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "keep" {
		t.Errorf("existing file changed: %q", b)
	}
	os.Remove(out)

	cmd := exec.Command(h.bin, "report", "--since", "1h", "-o", out)
	cmd.Env = h.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("report: %v: %s", err, stderr.String())
	}
	if strings.TrimSpace(stdout.String()) != out {
		t.Errorf("stdout %q, want the archive's path", stdout.String())
	}
	if !strings.Contains(stderr.String(), "node n3 unreachable") {
		t.Errorf("stderr %q does not name n3", stderr.String())
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive: %v, %v", fi, err)
	}
	files, modes := readArchive(t, out)
	var names []string
	top := ""
	for name := range files {
		if strings.HasSuffix(name, "/") {
			continue
		}
		top, _, _ = strings.Cut(name, "/")
		names = append(names, strings.TrimPrefix(name, top+"/"))
	}
	slices.Sort(names)
	want := []string{"README.txt", "cluster/audit.json", "cluster/config.yaml", "cluster/events.json", "cluster/nodes.json", "cluster/status.json",
		"errors.txt", "nodes/n1/agent.log", "nodes/n1/metrics.txt", "nodes/n1/node.json",
		"nodes/n2/agent.log", "nodes/n2/metrics.txt", "nodes/n2/node.json", "unreachable.txt", "versions.json"}
	if !slices.Equal(names, want) {
		t.Errorf("archive files:\n%s\nwant\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	t.Logf("archive %s:\n  %s", top, strings.Join(names, "\n  "))
	file := func(name string) string { return string(files[top+"/"+name]) }
	for name, b := range files {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the secret value", name)
		}
		if !strings.HasSuffix(name, "/") && modes[name] != 0o600 {
			t.Errorf("%s: mode %o", name, modes[name])
		}
	}
	if !strings.HasPrefix(file("unreachable.txt"), "n3: ") || strings.Contains(file("unreachable.txt"), "n1") {
		t.Errorf("unreachable.txt: %q", file("unreachable.txt"))
	}
	if file("errors.txt") != "nothing failed\n" {
		t.Errorf("errors.txt: %q", file("errors.txt"))
	}
	if !strings.Contains(file("cluster/config.yaml"), "*****") || !strings.Contains(file("cluster/config.yaml"), "db") {
		t.Errorf("config.yaml lacks db with its masked secret:\n%s", file("cluster/config.yaml"))
	}
	for _, n := range []string{"n1", "n2"} {
		if !strings.Contains(file("nodes/"+n+"/agent.log"), "paceline agent "+n+" (server) serving") {
			t.Errorf("%s's agent.log lacks its start line:\n%s", n, file("nodes/"+n+"/agent.log"))
		}
		var ni struct {
			Name, Version string
			Raft          map[string]string
		}
		if err := json.Unmarshal(files[top+"/nodes/"+n+"/node.json"], &ni); err != nil || ni.Name != n || ni.Version == "" ||
			(ni.Raft["state"] != "Leader" && ni.Raft["state"] != "Follower") || ni.Raft["term"] == "" {
			t.Errorf("%s's node.json: %v %+v", n, err, ni)
		}
		if !strings.Contains(file("nodes/"+n+"/metrics.txt"), "paceline_quorum 1") {
			t.Errorf("%s's metrics.txt lacks quorum", n)
		}
	}
	var versions map[string]any
	if err := json.Unmarshal(files[top+"/versions.json"], &versions); err != nil || versions["n1"] == nil || versions["report"] == nil || versions["n3"] != nil {
		t.Errorf("versions.json: %v %v", err, versions)
	}
	// The cluster's events since it was made.
	var evs struct{ Events []clusterEvent }
	if err := json.Unmarshal(files[top+"/cluster/events.json"], &evs); err != nil {
		t.Errorf("cluster/events.json: %v", err)
	}
	_, joined := findEvent(evs.Events, "node-joined", "n3")
	_, online := findEvent(evs.Events, "node-online", "n2")
	if !joined || !online {
		t.Errorf("cluster/events.json lacks n3 joined or n2 online:\n%s", file("cluster/events.json"))
	}
	if !strings.Contains(file("README.txt"), "Not reached: n3") {
		t.Errorf("README.txt:\n%s", file("README.txt"))
	}
}
