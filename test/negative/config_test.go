package negative

import (
	"fmt"
	"net/http"
	"testing"
)

// applyYAML sends a whole configuration as YAML, on the current epoch.
func applyYAML(doc string) func(*testing.T, *env) reply {
	return func(_ *testing.T, e *env) reply {
		return e.send("POST", "/v1/config", "admin", "application/yaml",
			fmt.Sprintf("epoch: %d\n%s", e.backend.Config().Epoch, doc))
	}
}

// configResources is the configuration the structural cases start from:
// the resources of issue 10's database (a promotable clone and a group
// ordered after its promotion).
const configResources = `resources:
- id: db-clone
  kind: clone
  meta: {promotable: "true"}
  children:
  - {id: db, kind: primitive, class: builtin, type: dummy}
- id: app
  kind: group
  children:
  - {id: app1, kind: primitive, class: builtin, type: dummy}
`

// configCases are issue 10's refused configuration mistakes: a role typo,
// a constraint on a missing resource, a cycle of mandatory orders, a clone
// of a clone and clones nested in groups. Each is refused whole with one
// message naming the object and field; nothing is stored.
func configCases() []negCase {
	coloc := func(body string) func(*testing.T, *env) reply {
		return post("/v1/constraints", "admin", "application/json", body)
	}
	return []negCase{
		// Role typos, in every place a role is written.
		{name: "role typo in a colocation", run: coloc(`{"kind":"colocation","colocation":{"id":"c1","resource":"app",` +
			`"with":"db-clone","score":1000000,"with_role":"Promotd"}}`),
			status: 400, msg: []string{`colocation "c1": field "with_role"`, `role "Promotd"`, "want Started, Stopped, Promoted or Unpromoted"}},
		{name: "role typo in an operation", run: post("/v1/resources", "admin", "application/json",
			`{"id":"x","agent":"builtin:dummy","ops":[{"name":"monitor","interval":"5s","role":"Mastr"}]}`),
			status: 400, msg: []string{`resource "x": field "ops[0].role"`, `role "Mastr"`}},
		{name: "role typo in a YAML location", run: applyYAML(configResources +
			"locations:\n- {id: l1, resource: db-clone, node: n1, score: 100, role: Slav}\n"),
			status: 400, msg: []string{`location "l1": field "role"`, `role "Slav"`}},

		// Constraints on resources that do not exist.
		{name: "colocation with a missing resource", run: coloc(`{"kind":"colocation","colocation":{"id":"c1",` +
			`"resource":"app","with":"nope","score":100}}`),
			status: 400, msg: []string{`colocation "c1": field "with": unknown resource "nope"`}},
		{name: "order of a missing resource", run: coloc(`{"kind":"order","order":{"id":"o1","first":"nope","then":"app"}}`),
			status: 400, msg: []string{`order "o1": field "first": unknown resource "nope"`}},
		{name: "location of a missing resource", run: coloc(`{"kind":"location","location":{"id":"l1",` +
			`"resource":"nope","node":"n1","score":100}}`),
			status: 400, msg: []string{`location "l1": field "resource": unknown resource "nope"`}},

		// Cycles of mandatory orders.
		{name: "order closing a cycle", run: coloc(`{"kind":"order","order":{"id":"o2","first":"app","then":"db-clone",` +
			`"then_action":"promote"}}`),
			status: 400, msg: []string{`order "o2"`, "mandatory orders form a cycle: app started -> db-clone promote -> app start -> app1 start -> app started"}},
		{name: "cycle of orders in YAML", run: applyYAML(configResources +
			"orders:\n- {id: o1, first: app, then: db-clone}\n- {id: o2, first: db, then: app1}\n"),
			status: 400, msg: []string{`order "o2"`, "mandatory orders form a cycle"}},

		// Nesting Pacemaker refuses.
		{name: "clone of a clone", run: applyYAML(`resources:
- id: outer
  kind: clone
  children:
  - id: inner
    kind: clone
    children:
    - {id: p, kind: primitive, class: builtin, type: dummy}
`), status: 400, msg: []string{`resource "inner": field "kind": a clone cannot be inside a clone`}},
		{name: "group in a clone in a group", run: applyYAML(`resources:
- id: g
  kind: group
  children:
  - id: c
    kind: clone
    children:
    - id: g2
      kind: group
      children:
      - {id: p, kind: primitive, class: builtin, type: dummy}
`), status: 400, msg: []string{`resource "c": field "kind": a clone cannot be inside a group`}},
		{name: "member added to a clone as if a group", run: post("/v1/resources", "admin", "application/json",
			`{"id":"x","agent":"builtin:dummy","group":"db-clone"}`),
			status: 400, msg: []string{`resource "db-clone" is a clone, not a group`}},
		// Issue 11: properties Pacemaker does not know, values of the
		// wrong type, ids that are not NCNames.
		{name: "unknown property", run: putProperty("stonith-enable", "false"),
			status: 400, msg: []string{`unknown cluster property "stonith-enable" (did you mean stonith-enabled?)`}},
		{name: "property value not allowed", run: putProperty("no-quorum-policy", "sometimes"),
			status: 400, msg: []string{`invalid value "sometimes" for no-quorum-policy: want one of stop, freeze`}},
		{name: "read-only property", run: putProperty("have-watchdog", "true"),
			status: 400, msg: []string{`read-only cluster property "have-watchdog"`}},
		{name: "resource id with a colon", run: post("/v1/resources", "admin", "application/json", `{"id":"a:b","agent":"builtin:dummy"}`),
			status: 400, msg: []string{`resource "a:b": field "id": invalid id "a:b": ':' is reserved for clone instances`}},
		{name: "resource id with a space", run: post("/v1/resources", "admin", "application/json", `{"id":"bad id","agent":"builtin:dummy"}`),
			status: 400, msg: []string{`invalid id "bad id"`}},
		{name: "group and clone at once", run: post("/v1/resources", "admin", "application/json",
			`{"id":"x","agent":"builtin:dummy","group":"g","clone":{}}`),
			status: 400, msg: []string{"group and clone are exclusive"}},
	}
}

// TestNegativeConfiguration runs configCases against a server holding
// issue 10's database resources and the order of app after db's
// promotion, and checks that Master and Slave are taken for Promoted
// and Unpromoted where a typo is not.
func TestNegativeConfiguration(t *testing.T) {
	e := newEnv(t)
	setup := applyYAML(configResources+
		"orders:\n- {id: app-after-db, first: db-clone, first_action: promote, then: app}\n")(t, e)
	if setup.status != http.StatusOK {
		t.Fatalf("setup: %d %s", setup.status, setup.msg)
	}
	for _, tc := range configCases() {
		t.Run(tc.name, func(t *testing.T) { runCase(t, e, tc) })
	}
	t.Run("INFINITY in YAML accepted", func(t *testing.T) {
		runCase(t, e, negCase{run: applyYAML(configResources +
			"locations:\n- {id: l1, resource: app, node: n1, score: -INFINITY}\n"), status: 200, writes: true})
		if l := e.backend.Config().Locations; len(l) != 1 || l[0].Score != -1000000 {
			t.Errorf("stored locations %+v", l)
		}
	})
	t.Run("Master and Slave accepted", func(t *testing.T) {
		runCase(t, e, negCase{run: coloc2(`{"kind":"colocation","colocation":{"id":"c1","resource":"app",` +
			`"with":"db-clone","score":1000000,"role":"Slave","with_role":"Master"}}`), status: 201, writes: true})
		co := e.backend.Config().Colocations
		if len(co) != 1 || co[0].Role != "Unpromoted" || co[0].WithRole != "Promoted" {
			t.Errorf("stored colocation %+v, want roles Unpromoted and Promoted", co)
		}
	})
}

func putProperty(name, value string) func(*testing.T, *env) reply {
	return func(_ *testing.T, e *env) reply {
		return e.send("PUT", "/v1/properties/"+name, "admin", "application/json", `{"value":"`+value+`"}`)
	}
}

func coloc2(body string) func(*testing.T, *env) reply {
	return post("/v1/constraints", "admin", "application/json", body)
}
