package alerts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/store"
)

const pacemakerSample = "/usr/share/pacemaker/alerts/alert_file.sh.sample"

// Pacemaker's sample alert agent, unmodified, logs node, fencing and
// resource events from the CRM_alert_* environment to its recipient file.
func TestPacemakerSampleAlertAgent(t *testing.T) {
	if _, err := os.Stat(pacemakerSample); err != nil {
		t.Skipf("Pacemaker's sample alert agents are not installed (Debian package pacemaker): %v", err)
	}
	f := newFakeLeader()
	out := filepath.Join(t.TempDir(), "alerts.log")
	f.apply(t, store.NewAlertPut(store.Alert{ID: "file", Kind: store.AlertScript, Script: pacemakerSample, Recipient: out}))
	f.start(t, f.config())
	at := time.Now().Truncate(time.Second).Add(250 * time.Millisecond)
	ts := at.Format("15:04:05.000000")
	f.apply(t, store.NewEventAppend(
		store.Event{At: at.UnixMilli(), Kind: store.EventNodeLost, Node: "n2"},
		store.Event{At: at.UnixMilli(), Kind: store.EventNodeFenced, Node: "n2", Detail: "lease expired"},
		store.Event{At: at.UnixMilli(), Kind: store.EventRecovered, Resource: "web", From: "n2", To: "n1"},
		store.Event{At: at.UnixMilli(), Kind: store.EventResourceFailed, Resource: "db", Node: "n1", Operation: "monitor", Interval: 10000, RC: 7, Reason: "not running"},
		store.Event{At: at.UnixMilli(), Kind: store.EventConfigChanged, Epoch: 3}, // no Pacemaker alert: not run
		store.Event{At: at.UnixMilli(), Kind: store.EventNodeOnline, Node: "n2"}))
	for ref := uint64(1); ref <= 6; ref++ {
		if ref == 5 {
			continue
		}
		if rec := f.waitRecord(t, "file", ref, 5*time.Second); rec.Kind != store.EventAlertDelivered {
			t.Fatalf("event %d: %+v", ref, rec)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s:\n%s", out, b)
	want := []string{
		ts + ": Node 'n2' is now 'lost'",
		ts + ": Fencing Operation off of n2 by paceline for paceline: OK (lease expired)",
		ts + ": Resource operation 'start' for 'web' on 'n1': ok",
		ts + ": Resource operation 'monitor (10000)' for 'db' on 'n1': not running",
		ts + ": Node 'n2' is now 'member'",
	}
	if got := strings.Split(strings.TrimSpace(string(b)), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the sample wrote\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestWorldWritableScriptIsRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "alert.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\ntouch \"$CRM_alert_recipient\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o777); err != nil {
		t.Fatal(err)
	}
	d, _ := New(newFakeLeader().config())
	err := d.Check(store.Alert{ID: "s", Kind: store.AlertScript, Script: p})
	if !errors.Is(err, ErrUnsafeScript) || !strings.Contains(err.Error(), "world-writable (mode 0777)") {
		t.Fatalf("Check: %v", err)
	}
	ran := filepath.Join(t.TempDir(), "ran")
	err = d.Test(context.Background(), store.Alert{ID: "s", Kind: store.AlertScript, Script: p, Recipient: ran},
		store.Event{At: 1, Kind: store.EventNodeLost, Node: "n1"})
	if !errors.Is(err, ErrUnsafeScript) {
		t.Fatalf("Test: %v", err)
	}
	if _, err := os.Stat(ran); err == nil {
		t.Fatal("the world-writable script ran")
	}
}

// A script that hangs is killed with its whole process group at the
// timeout, and that is the failure.
func TestHangingScriptIsKilled(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hang.sh")
	pidFile := filepath.Join(dir, "pid")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nsleep 60 &\necho $! > \""+pidFile+"\"\nwait\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := newFakeLeader().config()
	cfg.ScriptTimeout = 300 * time.Millisecond
	d, _ := New(cfg)
	start := time.Now()
	err := d.Test(context.Background(), store.Alert{ID: "s", Kind: store.AlertScript, Script: p},
		store.Event{At: 1, Kind: store.EventNodeLost, Node: "n1"})
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "did not finish within 300ms: killed") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("Test: %v", err)
	}
	t.Logf("hanging script: %v after %v", err, took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Fatalf("the timeout took %v", took)
	}
	b, _ := os.ReadFile(pidFile)
	pid := strings.TrimSpace(string(b))
	if pid == "" {
		t.Fatal("the script did not start its child")
	}
	for range 100 {
		if _, err := os.Stat("/proc/" + pid); err != nil {
			return // the child is gone too
		}
		if st, _ := os.ReadFile("/proc/" + pid + "/stat"); strings.Contains(string(st), ") Z ") {
			return // a zombie: killed, its parent (init) reaps it
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the script's child %s still runs", pid)
}

func TestEnvironment(t *testing.T) {
	at := time.Date(2026, 12, 6, 17, 30, 1, 250_000_000, time.UTC)
	env := Environment(store.Event{At: at.UnixMilli(), Kind: store.EventResourceFailed, Resource: "db", Node: "n1",
		Operation: "monitor", Interval: 10000, RC: 7}, "/var/log/x", 9)
	joined := strings.Join(env, "\n") + "\n"
	for _, want := range []string{"CRM_alert_kind=resource\n", "CRM_alert_version=2.1.5\n", "CRM_alert_recipient=/var/log/x\n",
		"CRM_alert_node_sequence=9\n", "CRM_alert_timestamp_epoch=" + strconv.FormatInt(at.Unix(), 10) + "\n", "CRM_alert_timestamp_usec=250000\n",
		"CRM_alert_node=n1\n", "CRM_alert_rsc=db\n", "CRM_alert_task=monitor\n", "CRM_alert_interval=10000\n",
		"CRM_alert_rc=7\n", "CRM_alert_target_rc=0\n", "CRM_alert_status=0\n", "CRM_alert_desc=not running\n",
		"CRM_notify_kind=resource\n"} {
		if !strings.Contains(joined, want) {
			t.Errorf("environment lacks %q:\n%s", want, joined)
		}
	}
}
