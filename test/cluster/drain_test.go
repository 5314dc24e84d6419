package cluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// procSampler counts, every 50 ms, the live processes whose command line
// holds marker (the builtin:process resource's own sleep), and records
// the largest count seen and each process's parent (the agent that
// started it).
type procSampler struct {
	marker string
	mu     sync.Mutex
	most   int
	ppids  map[int]bool
	stop   chan struct{}
	once   sync.Once
	done   chan struct{}
}

// sampleProcs starts the sampler; at the test's end it stops and every
// process with the marker is killed (a resource process runs in its own
// process group and outlives the agents the harness kills).
func sampleProcs(t *testing.T, marker string) *procSampler {
	s := &procSampler{marker: marker, ppids: map[int]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(func() {
		s.close()
		for pid := range s.find() {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	go func() {
		defer close(s.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			pids := s.find()
			s.mu.Lock()
			s.most = max(s.most, len(pids))
			for _, pp := range pids {
				s.ppids[pp] = true
			}
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// find returns pid -> parent pid of the live (not zombie) processes with
// the marker in their command line.
func (s *procSampler) find() map[int]int {
	out := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cl, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cl, []byte(s.marker)) {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:]))
		if len(f) < 2 || f[0] == "Z" {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		out[pid] = ppid
	}
	return out
}

func (s *procSampler) close() int {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.most
}

// resource returns the role and nodes of resource id in st.
func resource(st *status, id string) (role string, nodes []string) {
	for _, r := range st.Resources {
		if r.ID == id {
			return r.Role, r.Nodes
		}
	}
	return "", nil
}

func nodeState(st *status, name string) string {
	for _, n := range st.Nodes {
		if n.Name == name {
			return n.State
		}
	}
	return ""
}

// startProc creates proc, a builtin:process running a sleep with a
// marker of its own, waits until it is Started and returns its node and a
// sampler of its processes.
func startProc(t *testing.T, h *harness) (string, *procSampler) {
	t.Helper()
	marker := fmt.Sprintf("0.%09d", time.Now().UnixNano()%1e9)
	h.must("resource", "create", "proc", "builtin:process", "command=sleep", "args=100000 "+marker, "--op", "monitor", "interval=1s")
	st := h.waitStatus("proc Started", 20*time.Second, func(st *status) bool {
		role, nodes := resource(st, "proc")
		return role == "Started" && len(nodes) == 1
	})
	_, nodes := resource(st, "proc")
	return nodes[0], sampleProcs(t, marker)
}

// TestSIGTERMDrainsTheNode: SIGTERM of the agent on the node running a
// builtin:process resource stops the process there before it starts on
// another node (sampled every 50 ms: never two), and the agent exits;
// then `paceline node stop` does the same to the next node, and a
// restarted agent runs resources again (its old shutdown request is
// cleared).
func TestSIGTERMDrainsTheNode(t *testing.T) {
	h, _ := startCluster(t)
	first, s := startProc(t, h)

	cmd := h.agents[first]
	began := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("agent %s exited with %v after SIGTERM, want status 0", first, err)
		}
		t.Logf("agent %s drained and exited %v after SIGTERM", first, time.Since(began).Round(time.Millisecond))
	case <-time.After(60 * time.Second):
		t.Fatalf("agent %s still running 60s after SIGTERM", first)
	}
	delete(h.agents, first)
	st := h.waitStatus("proc Started elsewhere, "+first+" offline", 20*time.Second, func(st *status) bool {
		role, nodes := resource(st, "proc")
		return role == "Started" && len(nodes) == 1 && nodes[0] != first && nodeState(st, first) == "offline"
	})
	_, nodes := resource(st, "proc")
	second := nodes[0]
	if n := len(s.find()); n != 1 {
		t.Errorf("%d processes of proc run after the drain, want 1", n)
	}

	// The first node comes back: its stale shutdown request is cleared
	// and it runs resources again.
	h.agent(first)
	h.waitStatus(first+" online", 30*time.Second, func(st *status) bool {
		return nodeState(st, first) == "online"
	})
	h.must("resource", "move", "proc", first)
	h.waitStatus("proc moved back to "+first, 30*time.Second, func(st *status) bool {
		role, nodes := resource(st, "proc")
		return role == "Started" && len(nodes) == 1 && nodes[0] == first
	})
	h.must("resource", "clear", "proc")

	// node stop: the same through the cluster.
	h.must("node", "stop", first, "--wait", "60s")
	select {
	case err := <-waitAgent(h, first):
		if err != nil {
			t.Errorf("agent %s exited with %v after node stop, want status 0", first, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("agent %s still running 30s after it was offline", first)
	}
	h.waitStatus("proc Started on another node", 20*time.Second, func(st *status) bool {
		role, nodes := resource(st, "proc")
		return role == "Started" && len(nodes) == 1 && nodes[0] != first
	})
	if n := len(s.find()); n != 1 {
		t.Errorf("%d processes of proc run after node stop, want 1", n)
	}
	if most := s.close(); most > 1 {
		t.Errorf("%d copies of proc's process ran at once (sampled every 50 ms), want at most 1", most)
	}
	_ = second
}

// runOn runs the CLI against node's own API only.
func (h *harness) runOn(node string, args ...string) (string, error) {
	saved := h.env
	h.env = append(slices.Clone(saved), "PACELINE_ADDR=https://"+h.addr(node))
	defer func() { h.env = saved }()
	return h.run(args...)
}

// waitAgent waits for the agent process of name to exit.
func waitAgent(h *harness, name string) <-chan error {
	ch := make(chan error, 1)
	cmd := h.agents[name]
	delete(h.agents, name)
	go func() { ch <- cmd.Wait() }()
	return ch
}

// TestMaintenanceNodeExitsLeavingItsResources: an agent stopped while
// its node is in maintenance exits at once and leaves its resources
// running (the same process), nothing starts elsewhere, and the agent
// started again probes and adopts them without restarting them.
func TestMaintenanceNodeExitsLeavingItsResources(t *testing.T) {
	h, _ := startCluster(t)
	victim, s := startProc(t, h)
	before := s.find()
	if len(before) != 1 {
		t.Fatalf("%d processes of proc, want 1", len(before))
	}
	h.must("node", "maintenance", victim)
	// An operator stops the agent once the node shows in maintenance; the
	// agent decides from its own copy of the state, so wait until that
	// copy (its API answers from it) has the attribute.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		out, err := h.runOn(victim, "status", "--json")
		var st status
		if err == nil && json.Unmarshal([]byte(out), &st) == nil && nodeState(&st, victim) == "maintenance" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's own status does not show it in maintenance: %v %s", victim, err, out)
		}
	}
	cmd := h.agents[victim]
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waitAgent(h, victim):
		if err != nil {
			t.Errorf("agent %s exited with %v, want status 0", victim, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("agent %s in maintenance still running 20s after SIGTERM", victim)
	}
	// Well past the lease and self-fence deadline: the process still runs
	// and no copy started elsewhere.
	time.Sleep(5 * time.Second)
	if after := s.find(); len(after) != 1 || !samePIDs(before, after) {
		t.Fatalf("processes of proc after the maintenance exit: %v, want the same one as before: %v", after, before)
	}
	h.agent(victim)
	h.waitStatus("proc adopted on "+victim, 30*time.Second, func(st *status) bool {
		role, nodes := resource(st, "proc")
		return nodeState(st, victim) != "offline" && role == "Started" && len(nodes) == 1 && nodes[0] == victim
	})
	h.must("node", "unmaintenance", victim)
	time.Sleep(3 * time.Second)
	if after := s.find(); !samePIDs(before, after) {
		t.Errorf("processes of proc after the agent came back: %v, want the same one (not restarted): %v", after, before)
	}
	if most := s.close(); most > 1 {
		t.Errorf("%d copies of proc's process ran at once, want at most 1", most)
	}
}

func samePIDs(a, b map[int]int) bool {
	if len(a) != len(b) {
		return false
	}
	for pid := range a {
		if _, ok := b[pid]; !ok {
			return false
		}
	}
	return true
}
