package agents

import (
	"slices"
	"testing"
)

// Which parameter changes need a restart, by the agent's meta-data: OCF
// 1.1 agents mark reloadable parameters and reload with reload-agent;
// legacy agents (heartbeat's Dummy) reload with reload, restarting for
// unique parameters only; an agent without either always restarts.
func TestMetadataForceRestart(t *testing.T) {
	tests := []struct {
		name, xml, action string
		force             []string
	}{
		{"ocf 1.1", `<resource-agent><parameters><parameter name="a" reloadable="1"/><parameter name="b" unique="0"/></parameters>
			<actions><action name="start"/><action name="reload-agent"/><action name="reload"/></actions></resource-agent>`, "reload-agent", []string{"b"}},
		{"legacy reload", `<resource-agent><parameters><parameter name="state" unique="1"/><parameter name="fake" unique="0"/></parameters>
			<actions><action name="reload"/></actions></resource-agent>`, "reload", []string{"state"}},
		{"no reload", `<resource-agent><parameters><parameter name="a" reloadable="1"/></parameters><actions><action name="start"/></actions></resource-agent>`, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseMetadata([]byte(tt.xml))
			if err != nil {
				t.Fatal(err)
			}
			if got := m.ReloadAction(); got != tt.action {
				t.Errorf("reload action %q, want %q", got, tt.action)
			}
			if got := m.ForceRestart(); !slices.Equal(got, tt.force) {
				t.Errorf("force restart %v, want %v", got, tt.force)
			}
		})
	}
	if _, err := ParseMetadata([]byte("<resource-agent>")); err == nil {
		t.Error("truncated meta-data parsed")
	}
}
