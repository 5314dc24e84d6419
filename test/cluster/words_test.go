package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// fullStatus is status --json with issue 10's per-primitive fields.
type fullStatus struct {
	Resources []struct {
		ID, Role, Parent string
		Nodes            []string
		Instances        []struct{ Node, Role string }
	}
}

// TestIssueTenWordsOnRunningCluster builds issue 10's configuration on
// three real agents with the CLI words alone (builtin:dummy as the
// promotable and the cloned agent) and waits for status --json to show
// it run: db promoted on one node and unpromoted on the two others, the
// group app on the promoted node, api on exactly two nodes.
func TestIssueTenWordsOnRunningCluster(t *testing.T) {
	if _, err := os.Stat("/usr/lib/ocf/resource.d/pacemaker/Stateful"); err != nil {
		t.Skip("pacemaker's OCF agents are not installed (no /usr/lib/ocf/resource.d/pacemaker/Stateful)")
	}
	h, _ := startCluster(t)
	h.must("resource", "create", "db", "ocf:pacemaker:Stateful", "--promotable", "notify=true",
		"--op", "monitor", "interval=5s", "role=Promoted", "--op", "monitor", "interval=2s", "role=Unpromoted")
	h.must("resource", "create", "app1", "builtin:dummy", "--group", "app")
	h.must("resource", "create", "app2", "builtin:dummy", "--group", "app")
	h.must("constraint", "add", "colocation", "app-with-db", "app", "db-clone", "INFINITY", "--with-role", "Promoted")
	h.must("constraint", "add", "order", "app-after-db", "db-clone", "app", "--first-action", "promote")
	h.must("resource", "create", "api", "builtin:dummy", "--clone", "clone-max=2")

	var last string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, err := h.run("status", "--json")
		if err == nil {
			last = out
			if problem := issueTenRunning(out); problem == "" {
				human := h.must("status")
				t.Logf("status:\n%s", human)
				if !strings.Contains(human, "* Clone Set: db-clone [db] (promotable):\n    * Promoted: [ ") ||
					!strings.Contains(human, "* Unpromoted: [ ") || !strings.Contains(human, "* Resource Group: app:") {
					t.Errorf("the status screen does not show the clone sets and the group:\n%s", human)
				}
				return
			} else if time.Now().After(deadline) {
				t.Fatalf("after 60s: %s; last status %s", problem, last)
			}
		} else if time.Now().After(deadline) {
			t.Fatalf("after 60s: %v", err)
		}
	}
}

// issueTenRunning says what is not yet as it should be ("" when all is).
func issueTenRunning(out string) string {
	var st fullStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return err.Error()
	}
	by := map[string]int{}
	for i, r := range st.Resources {
		by[r.ID] = i
	}
	for _, id := range []string{"db", "app1", "app2", "api"} {
		if _, ok := by[id]; !ok {
			return "no " + id
		}
	}
	db := st.Resources[by["db"]]
	var promoted, unpromoted []string
	for _, in := range db.Instances {
		switch in.Role {
		case "Promoted":
			promoted = append(promoted, in.Node)
		case "Unpromoted":
			unpromoted = append(unpromoted, in.Node)
		}
	}
	if db.Parent != "db-clone" || db.Role != "Promoted" || len(promoted) != 1 || len(unpromoted) != 2 || len(db.Nodes) != 3 {
		return fmt.Sprintf("db: %+v", db)
	}
	for _, id := range []string{"app1", "app2"} {
		r := st.Resources[by[id]]
		if r.Parent != "app" || r.Role != "Started" || len(r.Instances) != 1 || r.Instances[0].Node != promoted[0] {
			return fmt.Sprintf("%s not Started on the promoted node %s: %+v", id, promoted[0], r)
		}
	}
	api := st.Resources[by["api"]]
	if api.Parent != "api-clone" || api.Role != "Started" || len(api.Nodes) != 2 || len(api.Instances) != 2 ||
		slices.ContainsFunc(api.Instances, func(in struct{ Node, Role string }) bool { return in.Role != "Started" }) {
		return fmt.Sprintf("api not Started on exactly 2 nodes: %+v", api)
	}
	if strings.Join(api.Nodes, ",") == "" {
		return "api nodes empty"
	}
	return ""
}

// TestGroupAndCloneWordsOnRunningCluster: a group and an anonymous clone
// made with the CLI words alone run on three real agents, and status
// --json shows each primitive's parent and instances.
func TestGroupAndCloneWordsOnRunningCluster(t *testing.T) {
	h, _ := startCluster(t)
	h.must("resource", "create", "app2", "builtin:dummy", "--group", "app")
	h.must("resource", "create", "app1", "builtin:dummy", "--group", "app", "--before", "app2")
	h.must("resource", "create", "api", "builtin:dummy", "--clone", "clone-max=2")
	var last string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, err := h.run("status", "--json")
		problem := ""
		if err != nil {
			problem = err.Error()
		} else {
			last = out
			problem = groupAndCloneRunning(out)
		}
		if problem == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s: %s; last status %s", problem, last)
		}
	}
	human := h.must("status")
	for _, want := range []string{"* Resource Group: app:\n    * app1\t(builtin:dummy):\t Started n", "* Clone Set: api-clone [api]:\n    * Started: [ n"} {
		if !strings.Contains(human, want) {
			t.Errorf("status lacks %q:\n%s", want, human)
		}
	}
}

// groupAndCloneRunning says what is not yet as it should be ("" when all
// is): app1 and app2 Started on one node, api on exactly two.
func groupAndCloneRunning(out string) string {
	var st fullStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return err.Error()
	}
	var appNode string
	seen := 0
	for _, r := range st.Resources {
		switch r.ID {
		case "app1", "app2":
			seen++
			if r.Parent != "app" || r.Role != "Started" || len(r.Instances) != 1 || (appNode != "" && r.Instances[0].Node != appNode) {
				return fmt.Sprintf("%s: %+v", r.ID, r)
			}
			appNode = r.Instances[0].Node
		case "api":
			seen++
			if r.Parent != "api-clone" || r.Role != "Started" || len(r.Nodes) != 2 || len(r.Instances) != 2 ||
				r.Instances[0].Node == r.Instances[1].Node {
				return fmt.Sprintf("api: %+v", r)
			}
		}
	}
	if seen != 3 {
		return "missing resources"
	}
	return ""
}
