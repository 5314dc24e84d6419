package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paceline/paceline/internal/controller"
	"github.com/paceline/paceline/internal/peer"
)

// FuzzLoadConfig feeds arbitrary YAML as /etc/paceline/paceline.yaml: no
// panic, and an accepted file gives a valid configuration.
func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{
		"name: n1\nlisten: 127.0.0.1:7100\n", "name: n1\nrole: witness\nagent_dirs: [/usr/lib/ocf/resource.d]\n",
		"name: n1\nheartbeat: 200ms\nlease_ttl: 1s\nwatchdog: sim:unix:/run/w\n", "name: [\n", "---\n---\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "paceline.yaml")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(p, nil, nil)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("%q: accepted but invalid: %v", b, err)
		}
	})
}

// FuzzPeerBodies feeds arbitrary bytes to the node-to-node body decoder
// for every peer message: no panic, and an accepted body has no trailing
// data.
func FuzzPeerBodies(f *testing.F) {
	for _, s := range []string{
		`{"watchdog_ms":1500,"boot":"b1"}`, `{"resource":{"id":"web"},"record":{"operation":"start"}}`,
		`{"raft_addr":"10.0.0.2:8100","api_addr":"10.0.0.2:7100"}`, `{"node":"n2"}`, `{}`, `{"x":1}`, `{} {}`,
		`{"csr_pem":"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n"}`,
	} {
		for i := range 6 {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, kind uint8, b []byte) {
		var v any
		switch kind % 6 {
		case 0:
			v = &peer.Heartbeat{}
		case 1:
			v = &peer.Report{}
		case 2:
			v = &controller.Op{}
		case 3:
			v = &peerJoinRequest{}
		case 4:
			v = &peerRenew{}
		default:
			v = &peerRemove{}
		}
		if err := peer.DecodeStrict(strings.NewReader(string(b)), v); err != nil {
			return
		}
	})
}
