package model

import (
	"errors"
	"strings"
	"testing"
)

func fencingConfig() *Config {
	return &Config{
		Nodes: []Node{{Name: "n1"}, {Name: "n2"}},
		Resources: []Resource{
			{ID: "ipmi-n2", Kind: KindPrimitive, Class: "stonith", Type: "fence_ipmilan"},
			{ID: "pdu", Kind: KindPrimitive, Class: "stonith", Type: "fence_apc"},
			{ID: "web", Kind: KindPrimitive, Class: "ocf", Provider: "heartbeat", Type: "apache"},
		},
	}
}

func TestValidFencingLevelsPass(t *testing.T) {
	c := fencingConfig()
	err := c.ValidateFencingLevels([]FencingLevel{
		{Target: "n2", Index: 1, Devices: []string{"ipmi-n2"}},
		{Target: "n2", Index: 2, Devices: []string{"pdu"}},
		{Target: "n1", Index: 1, Devices: []string{"pdu"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.FenceDevices()); got != 2 {
		t.Errorf("FenceDevices: %d, want the two stonith primitives", got)
	}
}

func TestFencingLevelProblemsAreEachOneFieldError(t *testing.T) {
	err := fencingConfig().ValidateFencingLevels([]FencingLevel{
		{Target: "n2", Index: 1, Devices: []string{"nope"}},       // missing device
		{Target: "n2", Index: 2, Devices: []string{"web"}},        // not a fence device
		{Target: "n9", Index: 1, Devices: []string{"pdu"}},        // not a node
		{Target: "n1", Index: 0, Devices: []string{"pdu"}},        // bad index
		{Target: "n2", Index: 1, Devices: []string{"pdu"}},        // duplicate level
		{Target: "n1", Index: 3, Devices: nil},                    // no device
		{Target: "n1", Index: 4, Devices: []string{"pdu", "pdu"}}, // twice in a level
	})
	var lines []string
	if err != nil {
		lines = strings.Split(err.Error(), "\n")
	}
	want := []string{
		`fencing-level "n2/1": field "devices[0]": unknown fence device "nope"`,
		`fencing-level "n2/2": field "devices[0]": unknown fence device "web"`,
		`fencing-level "n9/1": field "target": not a node: "n9"`,
		`fencing-level "n1/0": field "index": invalid value 0: want 1 to 9`,
		`fencing-level "n2/1": field "index": duplicate id: level 1 of n2 is defined twice`,
		`fencing-level "n1/3": field "devices": no device`,
		`fencing-level "n1/4": field "devices[1]": invalid value: "pdu" is named twice`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if !errors.Is(err, ErrUnknownFenceDevice) || !errors.Is(err, ErrUnknownNode) {
		t.Errorf("sentinels: %v", err)
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Errorf("want *FieldError problems")
	}
}
