package fence

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/model"
)

func TestDeviceAttributesAsPacemakerReadsThem(t *testing.T) {
	d, err := ParseDevice("pdu", "fence_apc", map[string]string{
		"ip": "10.0.0.9", "password": "pw",
		"pcmk_host_map":       "n1:1;n2:2,3 n3=4",
		"pcmk_host_list":      "n4, n5",
		"pcmk_delay_base":     "2s",
		"pcmk_delay_max":      "10s",
		"pcmk_reboot_action":  "cycle",
		"pcmk_off_timeout":    "90",
		"pcmk_off_retries":    "0",
		"pcmk_host_argument":  "plug",
		"pcmk_monitor_action": "status",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Params["pcmk_host_map"]; ok || d.Params["password"] != "pw" || len(d.Params) != 2 {
		t.Errorf("agent params %v: want the agent's parameters without pcmk_*", d.Params)
	}
	for target, port := range map[string]string{"n1": "1", "n2": "2,3", "n3": "4", "n4": "n4"} {
		if got := d.Port(target); got != port {
			t.Errorf("Port(%s) = %q, want %q (the host map, else the node name)", target, got, port)
		}
	}
	if !d.InStaticList("n5") || !d.InStaticList("n2") || d.InStaticList("n9") {
		t.Errorf("static list: host list and host map both count, nothing else")
	}
	if d.AgentAction("reboot") != "cycle" || d.AgentAction("off") != "off" {
		t.Errorf("pcmk_reboot_action: reboot -> %q, off -> %q", d.AgentAction("reboot"), d.AgentAction("off"))
	}
	if d.Timeout("off", time.Minute) != 90*time.Second || d.Timeout("on", time.Minute) != time.Minute {
		t.Errorf("timeouts: pcmk_off_timeout=90 (seconds) for off, stonith-timeout for the rest")
	}
	if d.RetriesFor("off") != 0 || d.RetriesFor("reboot") != DefaultRetries {
		t.Errorf("retries: off %d, reboot %d", d.RetriesFor("off"), d.RetriesFor("reboot"))
	}
	if d.ResolveHostArgument(func(string) bool { return true }) != "plug" {
		t.Errorf("pcmk_host_argument overrides the meta-data")
	}
}

func TestDelayIsBasePlusARandomPartBelowTheMaximum(t *testing.T) {
	d, err := ParseDevice("d", "fence_x", map[string]string{"pcmk_delay_base": "2s", "pcmk_delay_max": "10s"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r    float64
		want time.Duration
	}{{0, 2 * time.Second}, {0.5, 6 * time.Second}, {0.999, 2*time.Second + time.Duration(0.999*float64(8*time.Second))}} {
		if got := d.Delay("n1", c.r); got != c.want {
			t.Errorf("Delay(r=%v) = %v, want %v", c.r, got, c.want)
		}
	}
	perNode, err := ParseDevice("d", "fence_x", map[string]string{"pcmk_delay_base": "n1:5s;n2:0s"})
	if err != nil {
		t.Fatal(err)
	}
	if perNode.Delay("n1", 0.7) != 5*time.Second || perNode.Delay("n2", 0.7) != 0 || perNode.Delay("n3", 0.7) != 0 {
		t.Errorf("per-node pcmk_delay_base: n1 %v n2 %v n3 %v", perNode.Delay("n1", 0), perNode.Delay("n2", 0), perNode.Delay("n3", 0))
	}
	maxOnly, _ := ParseDevice("d", "fence_x", map[string]string{"pcmk_delay_max": "4s"})
	if maxOnly.Delay("n1", 0.25) != time.Second {
		t.Errorf("pcmk_delay_max alone: %v, want 1s for r=0.25", maxOnly.Delay("n1", 0.25))
	}
}

func TestHostCheckDefaultsFollowPacemaker(t *testing.T) {
	supports := func(actions ...string) func(string) bool {
		return func(a string) bool {
			for _, x := range actions {
				if x == a {
					return true
				}
			}
			return false
		}
	}
	listed, _ := ParseDevice("a", "fence_x", map[string]string{"pcmk_host_list": "n1"})
	bare, _ := ParseDevice("b", "fence_x", nil)
	forced, _ := ParseDevice("c", "fence_x", map[string]string{"pcmk_host_list": "n1", "pcmk_host_check": "none"})
	for _, c := range []struct {
		name string
		d    *Device
		sup  func(string) bool
		want HostCheck
	}{
		{"a host list makes it static", listed, supports("list", "status"), CheckStaticList},
		{"no list, agent lists: dynamic", bare, supports("list", "status"), CheckDynamicList},
		{"no list, agent has only status", bare, supports("status"), CheckStatus},
		{"neither: none", bare, supports(), CheckNone},
		{"configured wins", forced, supports("list"), CheckNone},
	} {
		if got := c.d.ResolveHostCheck(c.sup); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if bare.ResolveHostArgument(supports("plug")) != "plug" || bare.ResolveHostArgument(supports("port", "plug")) != "port" ||
		bare.ResolveHostArgument(supports()) != "none" {
		t.Errorf("host argument defaults: port, else plug, else none")
	}
}

func TestBadDeviceAttributesAreEachOneLineNamingTheDevice(t *testing.T) {
	_, err := ParseDevice("ipmi-n2", "fence_ipmilan", map[string]string{
		"pcmk_host_check": "sometimes", "pcmk_delay_max": "soon", "pcmk_off_retries": "-1",
		"pcmk_host_map": "n1", "pcmk_reboot_timeout": "0",
	})
	if !errors.Is(err, ErrBadAttribute) {
		t.Fatalf("err %v, want ErrBadAttribute", err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 5 {
		t.Fatalf("want one line per bad attribute (5), got %d:\n%v", len(lines), err)
	}
	for _, l := range lines {
		if !strings.Contains(l, "device ipmi-n2: pcmk_") {
			t.Errorf("line %q does not name the device and attribute", l)
		}
	}
	if _, err := ParseDevice("x", "", nil); !errors.Is(err, ErrNoAgent) {
		t.Errorf("no agent: %v", err)
	}
}

func TestFencingOptionsComeFromTheClusterOptions(t *testing.T) {
	if o := DefaultOptions(); o.Action != "reboot" || o.Timeout != time.Minute || o.MaxAttempts != 10 || o.PriorityDelay != 0 {
		t.Errorf("defaults: %+v", o)
	}
	o := OptionsFrom(model.ParseClusterOptions(map[string]string{"stonith-action": "poweroff", "stonith-timeout": "30s",
		"fencing-max-attempts": "3", "priority-fencing-delay": "15s"}))
	if o.Action != "off" || o.Timeout != 30*time.Second || o.MaxAttempts != 3 || o.PriorityDelay != 15*time.Second {
		t.Errorf("set: %+v", o)
	}
	if o := OptionsFrom(model.ParseClusterOptions(map[string]string{"stonith-timeout": "0"})); o.Timeout != time.Minute {
		t.Errorf("stonith-timeout=0: %v, want the 60s default", o.Timeout)
	}
}

func TestTopologyValidateNamesEveryProblem(t *testing.T) {
	ipmi, _ := ParseDevice("ipmi-n2", "fence_ipmilan", map[string]string{"pcmk_host_list": "n2 n7"})
	topo := Topology{Devices: []*Device{ipmi}, Nodes: []string{"n1", "n2"}, Levels: []Level{
		{Target: "n2", Index: 1, Devices: []string{"ipmi-n2"}},
		{Target: "n2", Index: 2, Devices: []string{"pdu"}},
		{Target: "n2", Index: 2, Devices: []string{"ipmi-n2"}},
		{Target: "n9", Index: 1, Devices: []string{"ipmi-n2"}},
	}}
	err := topo.Validate()
	for _, want := range []error{ErrUnknownDevice, ErrUnknownTarget, model.ErrUnknownNode, model.ErrDuplicateID} {
		if !errors.Is(err, want) {
			t.Errorf("Validate: %v, want it to include %v", err, want)
		}
	}
	for _, want := range []string{`fencing-level "n2/2": field "devices[0]": unknown fence device "pdu"`,
		`fencing-level "n9/1": field "target": not a node: "n9"`, "device ipmi-n2: pcmk_host_list names n7",
		"level 2 of n2 is defined twice"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want a line with %q", err, want)
		}
	}
}

func TestAPrintedDeviceShowsNoParameter(t *testing.T) {
	d, _ := ParseDevice("ipmi-n2", "fence_ipmilan", map[string]string{"password": "s3cret-pw"})
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(format, d); strings.Contains(out, "s3cret-pw") {
			t.Errorf("%s prints the password: %s", format, out)
		}
	}
}
