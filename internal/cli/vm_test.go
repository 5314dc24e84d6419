package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
)

func vmList(t *testing.T) map[string]api.VMStatus {
	t.Helper()
	var vms []api.VMStatus
	if err := json.Unmarshal([]byte(ok(t, "vm", "list", "--json")), &vms); err != nil {
		t.Fatalf("vm list --json: %v", err)
	}
	out := map[string]api.VMStatus{}
	for _, v := range vms {
		out[v.ID] = v
	}
	return out
}

// The vm words change what the issue says they do (vm stop = disable with
// the HA level kept or set aside, vm start = enable, HA restored and
// failures cleaned up, vm migrate = move of a shared VM only), and status
// shows every VM with its state, host, HA level and storage.
func TestVMCommands(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "resource", "create", "vm1", "builtin:vm", "domain=vm1", "xml=/vm/vm1.xml", "storage=shared", "--meta", "ha-level=NeverStop")
	ok(t, "resource", "create", "vm2", "builtin:vm", "domain=vm2", "xml=/vm/vm2.xml")
	ok(t, "resource", "create", "web", "builtin:dummy")
	meta := func(id string) map[string]string {
		for _, r := range c.backend.Config().Resources {
			if r.ID == id {
				return r.Meta
			}
		}
		t.Fatalf("no resource %s", id)
		return nil
	}

	vms := vmList(t)
	// No controller runs here: the VMs run nowhere (Starting, or Stopped
	// with the scheduler's reason).
	if v := vms["vm1"]; len(vms) != 2 || (v.State != "Starting" && v.State != "Stopped") || v.HALevel != "NeverStop" || v.Storage != "shared" {
		t.Errorf("vm list: %+v", vms)
	}
	if v := vms["vm2"]; v.HALevel != "None" || v.Storage != "local" {
		t.Errorf("vm2 defaults: %+v", v)
	}
	if st := statusJSON(t); len(st.VMs) != 2 || len(st.Resources) != 3 {
		t.Errorf("status --json: vms %+v, resources %d", st.VMs, len(st.Resources))
	}
	if out := ok(t, "status"); !strings.Contains(out, "VMs (2):") || !strings.Contains(out, "vm1") {
		t.Errorf("status has no VMs section:\n%s", out)
	}

	ok(t, "vm", "stop", "vm1", "--keep-ha=false")
	if m := meta("vm1"); m["target-role"] != "Stopped" || m[model.MetaHALevel] != "None" || m[model.MetaVMHASuspended] != "NeverStop" {
		t.Errorf("after vm stop --keep-ha=false: %v", m)
	}
	if v := vmList(t)["vm1"]; v.State != "Stopped" || !strings.Contains(v.Reason, "by the user") {
		t.Errorf("stopped VM: %+v", v)
	}
	ok(t, "vm", "start", "vm1")
	if m := meta("vm1"); m["target-role"] != "Started" || m[model.MetaHALevel] != "NeverStop" || m[model.MetaVMHASuspended] != "" || m[model.MetaVMStopReason] != "" {
		t.Errorf("after vm start: %v", m)
	}
	ok(t, "vm", "stop", "vm1")
	if m := meta("vm1"); m["target-role"] != "Stopped" || m[model.MetaHALevel] != "NeverStop" {
		t.Errorf("after vm stop (HA kept): %v", m)
	}
	ok(t, "vm", "ha", "vm2", "neverstop")
	if m := meta("vm2"); m[model.MetaHALevel] != "NeverStop" {
		t.Errorf("after vm ha: %v", m)
	}
	ok(t, "vm", "migrate", "vm1", "n2")
	found := false
	for _, l := range c.backend.Config().Locations {
		found = found || (l.ID == "cli-prefer-vm1" && l.Node == "n2" && l.Score == model.Infinity)
	}
	if !found {
		t.Errorf("vm migrate added no cli-prefer-vm1: %+v", c.backend.Config().Locations)
	}

	epoch := c.backend.Config().Epoch
	fails(t, ExitError, "VM 'vm2' has local storage: it cannot migrate to 'n2'", "vm", "migrate", "vm2", "n2")
	fails(t, ExitError, "resource 'web' is not a VM", "vm", "stop", "web")
	fails(t, ExitError, "VM 'nosuch' not found", "vm", "start", "nosuch")
	fails(t, ExitError, "node 'n9' not found", "vm", "migrate", "vm1", "n9")
	fails(t, ExitUsage, `HA level "Sometimes": want NeverStop or None`, "vm", "ha", "vm1", "Sometimes")
	if e := c.backend.Config().Epoch; e != epoch {
		t.Errorf("refused commands changed the configuration: epoch %d -> %d", epoch, e)
	}
}

// An ocf:heartbeat:VirtualDomain resource is a VM for the vm words and
// status: its HA level from meta ha-level, its storage from meta
// vm-storage (shared unless local), its definition file and hypervisor
// shown by vm show.
func TestVirtualDomainIsAVM(t *testing.T) {
	c := newTestCluster(t)
	ok(t, "resource", "create", "vd1", "ocf:heartbeat:VirtualDomain", "config=/vm/vd1.xml", "hypervisor=qemu:///system",
		"--meta", "ha-level=NeverStop", "allow-migrate=true")
	ok(t, "resource", "create", "vd2", "ocf:heartbeat:VirtualDomain", "config=/vm/vd2.xml", "--meta", "vm-storage=local")
	vms := vmList(t)
	if v := vms["vd1"]; len(vms) != 2 || v.HALevel != "NeverStop" || v.Storage != "shared" {
		t.Errorf("vm list: %+v", vms)
	}
	if v := vms["vd2"]; v.HALevel != "None" || v.Storage != "local" {
		t.Errorf("vd2: %+v", v)
	}
	if out := ok(t, "vm", "show", "vd1"); !strings.Contains(out, "/vm/vd1.xml") || !strings.Contains(out, "qemu:///system") {
		t.Errorf("vm show vd1:\n%s", out)
	}
	ok(t, "vm", "ha", "vd2", "NeverStop")
	ok(t, "vm", "migrate", "vd1", "n2")
	epoch := c.backend.Config().Epoch
	fails(t, ExitError, "VM 'vd2' has local storage: it cannot migrate to 'n2'", "vm", "migrate", "vd2", "n2")
	if e := c.backend.Config().Epoch; e != epoch {
		t.Errorf("a refused migration changed the configuration: epoch %d -> %d", epoch, e)
	}
	if v := vmList(t)["vd2"]; v.HALevel != "NeverStop" {
		t.Errorf("after vm ha vd2 NeverStop: %+v", v)
	}
}
