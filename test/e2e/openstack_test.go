package e2e

import (
	"os"
	"strings"
	"testing"
	"time"
)

const openstackVIP = "10.77.0.100"

// The OpenStack HA guide's shape, built with the CLI words alone (issue
// 11): a VIP, a promotable Stateful (its database stand-in) with a
// monitor per role, the VIP with the promoted instance and after its
// promotion (roles written Master as in older guides), a group of two
// services after the VIP, an anonymous clone and resource defaults. The
// status screen is logged as it settles and after the promoted host
// crashes.
func TestOpenStackGuideWithCLIWordsOnly(t *testing.T) {
	for _, a := range []string{"pacemaker/Stateful", "heartbeat/Dummy"} {
		if _, err := os.Stat("/usr/lib/ocf/resource.d/" + a); err != nil {
			t.Skipf("ocf:%s is not installed (apt-get install pacemaker-resource-agents resource-agents)", strings.ReplaceAll(a, "/", ":"))
		}
	}
	n := NewNet(t, 3)
	c := NewCluster(t, n)
	for _, words := range [][]string{
		{"resource", "defaults", "set", "resource-stickiness=100"},
		{"resource", "create", "vip", "builtin:vip", "ip=" + openstackVIP, "cidr=24", "--op", "monitor", "interval=2s"},
		{"resource", "create", "galera", "ocf:pacemaker:Stateful", "--promotable", "notify=true",
			"--op", "monitor", "interval=5s", "role=Master", "--op", "monitor", "interval=6s", "role=Slave"},
		{"constraint", "add", "colocation", "vip-with-galera", "vip", "galera-clone", "INFINITY", "--with-role", "Master"},
		{"constraint", "add", "order", "galera-then-vip", "galera-clone", "vip", "--first-action", "promote"},
		{"resource", "create", "api", "ocf:heartbeat:Dummy", "--group", "openstack-api"},
		{"resource", "create", "scheduler", "ocf:heartbeat:Dummy", "--group", "openstack-api"},
		{"constraint", "add", "order", "vip-then-api", "vip", "openstack-api"},
		{"constraint", "add", "colocation", "api-with-vip", "openstack-api", "vip", "INFINITY"},
		{"resource", "create", "memcached", "ocf:heartbeat:Dummy", "--clone"},
	} {
		c.Must(words...)
	}
	settled := func(what string, nodes int) string {
		t.Helper()
		var last *Status
		deadline := time.Now().Add(60 * time.Second)
		for ; time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			st, err := c.Status()
			if err != nil {
				continue
			}
			last = st
			in := instancesOf(st, "galera")
			_, vipOn := st.Resource("vip")
			_, apiOn := st.Resource("api")
			_, schedOn := st.Resource("scheduler")
			if len(in["Promoted"]) == 1 && len(in["Unpromoted"]) == nodes-1 && len(vipOn) == 1 && vipOn[0] == in["Promoted"][0] &&
				len(apiOn) == 1 && apiOn[0] == vipOn[0] && len(schedOn) == 1 && schedOn[0] == vipOn[0] &&
				len(instancesOf(st, "memcached")["Started"]) == nodes {
				return vipOn[0]
			}
		}
		t.Fatalf("%s: not settled after 60s: %+v\n%s", what, last, c.Must("status"))
		return ""
	}
	p := settled("start", 3)
	if ok, _ := Holds(c.Host(p), openstackVIP); !ok {
		t.Errorf("status says the VIP is on %s, which does not hold %s", p, openstackVIP)
	}
	t.Logf("OPENSTACK status:\n%s", c.Must("status"))
	crashed := time.Now()
	c.Host(p).Crash()
	p2 := settled("after the crash of "+p, 2)
	t.Logf("OPENSTACK crash of %s (promoted, VIP): galera promoted, the VIP and the group on %s after %v\n%s",
		p, p2, time.Since(crashed).Round(10*time.Millisecond), c.Must("status"))
}
