package fence

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/agents/stonith"
)

// metaXML is the meta-data the test agents print: they take port and
// plug, and support list and status.
const metaXML = `<?xml version="1.0" ?>
<resource-agent name="fence_test" shortdesc="test agent">
<parameters>
	<parameter name="port" required="0"><content type="string"/></parameter>
	<parameter name="plug" required="0"><content type="string"/></parameter>
	<parameter name="password" required="0"><content type="string"/></parameter>
</parameters>
<actions><action name="off"/><action name="on"/><action name="reboot"/><action name="status"/><action name="list"/><action name="monitor"/><action name="metadata"/></actions>
</resource-agent>`

// agentScript returns a fence agent that logs its stdin to NAME.stdin and
// answers metadata with metaXML; body is sh case branches for the other
// actions ("$action" holds it; "$dir" the agent directory).
func agentScript(name, body string) string {
	return `#!/bin/sh
dir=$(dirname "$0")
action=
while IFS= read -r line; do
	case "$line" in action=*) action=${line#action=};; esac
	echo "$line" >> "$dir/` + name + `.stdin"
done
case "$action" in
metadata) cat "$dir/meta.xml"; exit 0;;
` + body + `
esac
echo "Failed: unexpected action $action" >&2
exit 1
`
}

// testFencer returns a fencer running the given agents (name -> case
// branches) through the real stonith class.
func testFencer(t *testing.T, scripts map[string]string) (*Fencer, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "meta.xml"), []byte(metaXML), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, body := range scripts {
		script := body
		if !strings.HasPrefix(body, "#!") {
			script = agentScript(name, body)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cls, err := stonith.New(stonith.Config{Dir: dir, TrustedUIDs: []uint32{uint32(os.Getuid())}, KillGrace: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(Config{Runner: cls, Rand: func() float64 { return 0.5 }, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	return f, dir
}

func device(t *testing.T, id, agent string, params map[string]string) *Device {
	t.Helper()
	d, err := ParseDevice(id, agent, params)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func setTopology(t *testing.T, f *Fencer, topo Topology) {
	t.Helper()
	if topo.Options == (Options{}) {
		topo.Options = DefaultOptions()
	}
	if err := f.SetTopology(topo); err != nil {
		t.Fatal(err)
	}
}

func TestTheTargetsPortFromTheHostMapReachesTheAgentOnStdin(t *testing.T) {
	f, dir := testFencer(t, map[string]string{"fence_ok": `off) echo "Success: Powered OFF"; exit 0;;`})
	setTopology(t, f, Topology{Devices: []*Device{device(t, "pdu", "fence_ok",
		map[string]string{"password": "s3cret", "pcmk_host_map": "n1:7;n2:8"})}, Nodes: []string{"n1", "n2"}})
	res, err := f.Fence(context.Background(), Request{Target: "n2", Action: "off", Origin: "n1"})
	if err != nil || res.Verdict != Fenced {
		t.Fatalf("Fence: %+v %v", res, err)
	}
	stdin, _ := os.ReadFile(filepath.Join(dir, "fence_ok.stdin"))
	if want := "action=off\nnodename=n2\npassword=s3cret\nport=8\n"; !strings.HasSuffix(string(stdin), want) {
		t.Errorf("the agent read\n%s\nwant it to end with\n%s", stdin, want)
	}
	h := f.History().List("n2")
	if len(h) != 1 || h[0].Result != ResultSuccess || h[0].Device != "pdu" || h[0].Origin != "n1" || h[0].End.Before(h[0].Start) {
		t.Errorf("history: %+v", h)
	}
}

func TestAFailedDeviceIsRetriedWithinItsTimeout(t *testing.T) {
	// Fails the first off, succeeds the second (a busy device).
	f, _ := testFencer(t, map[string]string{"fence_busy": `off) if [ -e "$dir/tried" ]; then exit 0; fi
	touch "$dir/tried"; echo "Failed: device busy" >&2; exit 1;;`})
	setTopology(t, f, Topology{Devices: []*Device{device(t, "d", "fence_busy", map[string]string{"pcmk_host_list": "n1"})}})
	if _, err := f.Fence(context.Background(), Request{Target: "n1", Action: "off"}); err != nil {
		t.Fatalf("Fence: %v", err)
	}
	h := f.History().List("")
	if len(h) != 2 || h[0].Result != ResultFailed || !strings.Contains(h[0].Reason, "device busy") || h[1].Result != ResultSuccess || h[1].Attempt != 2 {
		t.Errorf("history: %+v", h)
	}
}

func TestWithoutLevelsTheNextCapableDeviceFencesAndHistoryShowsBoth(t *testing.T) {
	f, _ := testFencer(t, map[string]string{
		"fence_broken": `off) echo "ERROR: Failed: Unable to connect/login to fencing device" >&2; exit 1;;`,
		"fence_ok":     `off) exit 0;;`,
		"fence_other":  `off) exit 0;;`,
	})
	setTopology(t, f, Topology{Devices: []*Device{
		device(t, "other", "fence_other", map[string]string{"pcmk_host_list": "n1"}), // cannot fence n2
		device(t, "broken", "fence_broken", map[string]string{"pcmk_host_list": "n2", "pcmk_off_retries": "0"}),
		device(t, "ok", "fence_ok", map[string]string{"pcmk_host_list": "n2"}),
	}})
	res, err := f.Fence(context.Background(), Request{Target: "n2", Action: "off", Origin: "test"})
	if err != nil || !strings.Contains(res.Reason, "device ok") {
		t.Fatalf("Fence: %+v %v", res, err)
	}
	var got []string
	for _, e := range f.History().List("n2") {
		got = append(got, e.Device+":"+e.Result)
	}
	if strings.Join(got, " ") != "broken:failed ok:success" {
		t.Errorf("history %v, want broken:failed ok:success", got)
	}
}

func TestEveryLevelFailingIsOneErrorAndCountsTowardsMaxAttempts(t *testing.T) {
	f, _ := testFencer(t, map[string]string{"fence_broken": `off) echo "Failed: Unable to connect/login to fencing device" >&2; exit 1;;`})
	setTopology(t, f, Topology{Devices: []*Device{device(t, "b", "fence_broken", map[string]string{"pcmk_host_list": "n1", "pcmk_off_retries": "0"})},
		Levels:  []Level{{Target: "n1", Index: 1, Devices: []string{"b"}}},
		Options: Options{Action: "off", Timeout: 5 * time.Second, MaxAttempts: 2}})
	for i := 0; i < 2; i++ {
		_, err := f.Fence(context.Background(), Request{Target: "n1"})
		if !errors.Is(err, ErrFenceFailed) || strings.Contains(err.Error(), "\n") ||
			!strings.Contains(err.Error(), "level 1 (b) failed (b off: fence_broken off failed (exit code 1): Failed: Unable to connect/login") {
			t.Fatalf("attempt %d: %v, want one line saying what level 1 ran into", i+1, err)
		}
	}
	if _, err := f.Fence(context.Background(), Request{Target: "n1"}); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("third attempt: %v, want ErrTooManyAttempts", err)
	}
	f.Reset("n1")
	if _, err := f.Fence(context.Background(), Request{Target: "n1"}); !errors.Is(err, ErrFenceFailed) {
		t.Fatalf("after Reset: %v, want a new attempt", err)
	}
}

func TestAHangingAgentIsKilledAtItsTimeoutAndTheNextLevelRuns(t *testing.T) {
	f, _ := testFencer(t, map[string]string{
		"fence_hang": `off) sleep 300 & wait;;`,
		"fence_ok":   `off) exit 0;;`,
	})
	setTopology(t, f, Topology{Devices: []*Device{
		device(t, "hang", "fence_hang", map[string]string{"pcmk_host_list": "n1", "pcmk_off_timeout": "1s"}),
		device(t, "ok", "fence_ok", map[string]string{"pcmk_host_list": "n1"}),
	}, Levels: []Level{{Target: "n1", Index: 1, Devices: []string{"hang"}}, {Target: "n1", Index: 2, Devices: []string{"ok"}}}})
	start := time.Now()
	res, err := f.Fence(context.Background(), Request{Target: "n1", Action: "off"})
	if err != nil || res.Verdict != Fenced {
		t.Fatalf("Fence: %+v %v", res, err)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("took %v: the hanging agent was not killed at its 1s timeout", took)
	}
	h := f.History().List("n1")
	if len(h) != 2 || h[0].Result != ResultTimedOut || h[0].Level != 1 || h[1].Level != 2 || h[1].Result != ResultSuccess {
		t.Errorf("history: %+v", h)
	}
}

func TestGarbageMetaDataFailsTheDeviceWithOneClearLine(t *testing.T) {
	f, _ := testFencer(t, map[string]string{"fence_garbage": "#!/bin/sh\ncat >/dev/null\necho '%%% not a fence agent %%%'\nexit 0\n"})
	setTopology(t, f, Topology{Devices: []*Device{device(t, "g", "fence_garbage", map[string]string{"pcmk_host_list": "n1"})},
		Levels: []Level{{Target: "n1", Index: 1, Devices: []string{"g"}}}})
	_, err := f.Fence(context.Background(), Request{Target: "n1", Action: "off"})
	if !errors.Is(err, ErrFenceFailed) || !strings.Contains(err.Error(), "fence_garbage meta-data: stonith: bad meta-data: no <resource-agent> element in \"%%% not a fence agent %%%\"") {
		t.Fatalf("garbage agent: %v", err)
	}
}

func TestDynamicListDecidesWhichDeviceCanFence(t *testing.T) {
	f, _ := testFencer(t, map[string]string{
		"fence_lister": `list) echo "n1,alias1"; echo "n2"; exit 0;;
off) exit 0;;`,
	})
	setTopology(t, f, Topology{Devices: []*Device{device(t, "l", "fence_lister", nil)}})
	if _, err := f.Fence(context.Background(), Request{Target: "n2", Action: "off"}); err != nil {
		t.Errorf("n2 is listed: %v", err)
	}
	_, err := f.Fence(context.Background(), Request{Target: "n3", Action: "off"})
	if !errors.Is(err, ErrFenceFailed) || !strings.Contains(err.Error(), "no fence device can fence n3 (fence: device cannot fence the target: l's list does not name n3)") {
		t.Errorf("n3 is not listed: %v", err)
	}
}

func TestTheDelayUsesTheRandomInput(t *testing.T) {
	f, _ := testFencer(t, map[string]string{"fence_ok": `off) exit 0;;`})
	// Rand is 0.5: the delay is 200ms + 0.5 * (1s - 200ms) = 600ms.
	setTopology(t, f, Topology{Devices: []*Device{device(t, "d", "fence_ok",
		map[string]string{"pcmk_host_list": "n1", "pcmk_delay_base": "200ms", "pcmk_delay_max": "1s"})}})
	start := time.Now()
	if _, err := f.Fence(context.Background(), Request{Target: "n1", Action: "off"}); err != nil {
		t.Fatal(err)
	}
	h := f.History().List("n1")
	if len(h) != 1 {
		t.Fatalf("history %+v", h)
	}
	if waited := h[0].Start.Sub(start); waited < 600*time.Millisecond || waited > 900*time.Millisecond {
		t.Errorf("the agent started %v after the request, want about 600ms", waited)
	}
}

func TestBadRequestsFailAtOnce(t *testing.T) {
	f, _ := testFencer(t, nil)
	setTopology(t, f, Topology{Nodes: []string{"n1"}})
	if _, err := f.Fence(context.Background(), Request{Target: "n1", Action: "explode"}); !errors.Is(err, ErrBadAction) {
		t.Errorf("bad action: %v", err)
	}
	if _, err := f.Fence(context.Background(), Request{Target: "n7", Action: "off"}); !errors.Is(err, ErrUnknownTarget) {
		t.Errorf("unknown target: %v", err)
	}
	err := f.SetTopology(Topology{Nodes: []string{"n1"}, Levels: []Level{{Target: "n1", Index: 1, Devices: []string{"nope"}}}})
	if !errors.Is(err, ErrUnknownDevice) || !strings.Contains(err.Error(), `fencing-level "n1/1": field "devices[0]": unknown fence device "nope"`) {
		t.Errorf("a level naming a missing device: %v", err)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	h := NewHistory(3)
	for i := 0; i < 5; i++ {
		h.Add(Entry{Op: uint64(i)})
	}
	l := h.List("")
	if len(l) != 3 || l[0].Op != 2 || l[2].Op != 4 {
		t.Errorf("history %+v, want the newest three", l)
	}
}

func TestRequestsForARunningOperationJoinItOrAreRefused(t *testing.T) {
	// The agent takes 500ms, so the second and third requests arrive while
	// the first runs.
	f, _ := testFencer(t, map[string]string{"fence_slow": `off) sleep 0.5; exit 0;;`})
	setTopology(t, f, Topology{Devices: []*Device{device(t, "d", "fence_slow", map[string]string{"pcmk_host_list": "n1"})}})
	results := make(chan error, 2)
	if err := f.Submit(Request{Target: "n1", Action: "off", Origin: "a"}, func(_ Result, err error) { results <- err }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := f.Submit(Request{Target: "n1", Action: "on"}, nil); !errors.Is(err, ErrInProgress) {
		t.Errorf("on while off runs: %v, want ErrInProgress", err)
	}
	res, err := f.Fence(context.Background(), Request{Target: "n1", Action: "off", Origin: "b"})
	if err != nil || res.Op != 1 {
		t.Errorf("joined request: %+v %v, want operation 1's success", res, err)
	}
	if err := <-results; err != nil {
		t.Errorf("first request: %v", err)
	}
	if h := f.History().List("n1"); len(h) != 1 {
		t.Errorf("history %+v: want one agent run for the two requests", h)
	}
	if err := f.Submit(Request{Target: "n1", Action: "explode"}, func(Result, error) { t.Error("done called for a refused request") }); !errors.Is(err, ErrBadAction) {
		t.Errorf("Submit of a bad action: %v", err)
	}
}

func TestPriorityFencingDelayOnlyWhenAsked(t *testing.T) {
	f, _ := testFencer(t, map[string]string{"fence_ok": `off) exit 0;;`})
	opts := DefaultOptions()
	// The delay is long against a loaded machine's scheduling noise: only
	// its lower bound is exact (the fencer sleeps it); the upper bounds
	// are generous.
	opts.PriorityDelay = 2 * time.Second
	setTopology(t, f, Topology{Devices: []*Device{device(t, "d", "fence_ok", map[string]string{"pcmk_host_list": "n1 n2"})}, Options: opts})
	for _, c := range []struct {
		target   string
		priority bool
		min, max time.Duration
	}{{"n1", false, 0, 2 * time.Second}, {"n2", true, 2 * time.Second, 10 * time.Second}} {
		start := time.Now()
		if _, err := f.Fence(context.Background(), Request{Target: c.target, Action: "off", Priority: c.priority}); err != nil {
			t.Fatal(err)
		}
		h := f.History().List(c.target)
		if waited := h[0].Start.Sub(start); waited < c.min || waited > c.max {
			t.Errorf("priority=%v: the agent started after %v, want %v to %v", c.priority, waited, c.min, c.max)
		}
	}
}

func TestStatusHostCheckAsksTheDeviceAboutThePort(t *testing.T) {
	// The device knows port 7 (status exits 2: off) and no other (1).
	f, _ := testFencer(t, map[string]string{"fence_st": `#!/bin/sh
dir=$(dirname "$0")
while IFS= read -r line; do
	case "$line" in action=*) action=${line#action=};; port=*) port=${line#port=};; esac
done
case "$action" in
metadata) cat "$dir/meta.xml"; exit 0;;
status) [ "$port" = 7 ] && exit 2; echo "Failed: no such port $port" >&2; exit 1;;
off) exit 0;;
esac
exit 1
`})
	setTopology(t, f, Topology{Devices: []*Device{device(t, "s", "fence_st",
		map[string]string{"pcmk_host_check": "status", "pcmk_host_map": "n1:7;n2:8"})}})
	if _, err := f.Fence(context.Background(), Request{Target: "n1", Action: "off"}); err != nil {
		t.Errorf("n1 (port 7, known to the device): %v", err)
	}
	_, err := f.Fence(context.Background(), Request{Target: "n2", Action: "off"})
	if !errors.Is(err, ErrFenceFailed) || !strings.Contains(err.Error(), "s status for n2") || !strings.Contains(err.Error(), "no such port 8") {
		t.Errorf("n2 (port 8, unknown): %v", err)
	}
}
