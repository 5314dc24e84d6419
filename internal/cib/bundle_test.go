package cib

import (
	"strings"
	"testing"
)

func TestBundle(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		check        func(t *testing.T, runtime string, replicas, perHost, promoted int, ip, port string, children int)
		wantErr      string
	}{
		{name: "docker with ip range and primitive", config: `<bundle id="b"><docker image="img" replicas="3" replicas-per-host="2" promoted-max="1"/>
			<network ip-range-start="192.168.0.10" control-port="3121"><port-mapping id="p" port="80"/></network>
			<storage><storage-mapping id="s" source-dir="/a" target-dir="/b"/></storage>
			<primitive id="httpd" class="ocf" provider="heartbeat" type="apache"/></bundle>`,
			check: func(t *testing.T, rt string, r, ph, pm int, ip, port string, ch int) {
				if rt != "docker" || r != 3 || ph != 2 || pm != 1 || ip != "192.168.0.10" || port != "3121" || ch != 1 {
					t.Errorf("got %s %d %d %d %s %s %d", rt, r, ph, pm, ip, port, ch)
				}
			}},
		{name: "bare podman", config: `<bundle id="b"><podman image="img"/></bundle>`,
			check: func(t *testing.T, rt string, r, ph, pm int, ip, port string, ch int) {
				if rt != "podman" || r != 0 || ch != 0 {
					t.Errorf("got %s %d children %d", rt, r, ch)
				}
			}},
		{name: "no runtime", config: `<bundle id="b"/>`, wantErr: "no <docker>"},
		{name: "two primitives", config: `<bundle id="b"><rkt image="i"/><primitive id="x" class="ocf" type="y"/><primitive id="z" class="ocf" type="y"/></bundle>`,
			wantErr: "more than one primitive"},
	} {
		cfg, _, err := Parse(strings.NewReader(cib("", "<resources>"+tc.config+"</resources>", "")))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: err = %v, want %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		r := cfg.Resources[0]
		b := r.Bundle
		tc.check(t, b.Runtime, b.Replicas, b.ReplicasPerHost, b.PromotedMax, b.IPRangeStart, b.ControlPort, len(r.Children))
	}
}
