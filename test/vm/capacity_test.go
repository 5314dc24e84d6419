package vm

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestVMNeedsFromItsXML runs a three-host cluster (two servers without a
// witness would hold every VM until each node has a fence device: the
// two-node gate): each VM's needs are its domain XML's <vcpu> and
// <memory> (builtin:vm publishes them), each host's capacity is its
// libvirtd's (logical CPUs, memory):
//   - g5 with as many vCPUs as a host has runs (it fits);
//   - g6 with one more vCPU than any host has is not started anywhere,
//     and status says why (not enough capacity on each node);
//   - the needs and the capacity are in the node attributes.
func TestVMNeedsFromItsXML(t *testing.T) {
	n := NewNet(t, 3)
	w := n.Watch()
	c := NewCluster(t, n)
	lv, err := n.Hosts[0].Dial()
	if err != nil {
		t.Fatal(err)
	}
	_, _, cpus, _, _, _, _, _, err := lv.NodeGetInfo()
	lv.Disconnect()
	if err != nil {
		t.Fatal(err)
	}
	fits := n.NewGuest(5, "shared", nil)
	fits.VCPUs = int(cpus)
	fits.WriteXML(t)
	big := n.NewGuest(6, "shared", nil)
	big.VCPUs = int(cpus) + 1
	big.WriteXML(t)
	c.createVM(fits, "shared", "NeverStop")
	c.createVM(big, "shared", "NeverStop")
	c.WaitVM("g5", "Running", "", 180*time.Second)
	v := c.WaitVM("g6", "Stopped", "", 60*time.Second)
	for deadline := time.Now().Add(30 * time.Second); strings.Count(v.Reason, "not enough capacity for g6") != len(n.Hosts); time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Fatalf("g6 %s: %q, want not enough capacity on each node\nconfig:\n%s\nattributes:\n%s", v.State, v.Reason,
				c.Must("config", "export"), c.Must("status", "--attributes"))
		}
		v = c.WaitVM("g6", "Stopped", "", 10*time.Second)
	}
	time.Sleep(6 * time.Second) // three monitor intervals: still nowhere
	if on := n.qemuAnywhere("g6"); len(on) != 0 {
		t.Errorf("g6 (%d vCPUs, hosts have %d) runs on %v", big.VCPUs, cpus, on)
	}
	attrs := c.Must("status", "--attributes")
	for _, want := range []string{"vm-cpus-g5", "vm-memory-g5", "vm-cpus-g6", "vm-host-cpus"} {
		if !strings.Contains(attrs, want) {
			t.Errorf("status --attributes lacks %s:\n%s", want, attrs)
		}
	}
	if !strings.Contains(attrs, strconv.Itoa(big.VCPUs)) {
		t.Errorf("status --attributes lacks g6's %d vCPUs:\n%s", big.VCPUs, attrs)
	}
	t.Logf("hosts with %d CPUs: g5 (%d vCPUs) Running; g6 (%d vCPUs) %s: %s", cpus, fits.VCPUs, big.VCPUs, v.State, v.Reason)
	t.Logf("vm list:\n%s", c.Must("vm", "list"))
	samples, bad := w.Stop()
	t.Logf("watcher: %d samples of every libvirtd, %d with a domain running on two hosts", samples, len(bad))
}
