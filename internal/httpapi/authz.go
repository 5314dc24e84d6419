package httpapi

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/paceline/paceline/api"
	"github.com/paceline/paceline/internal/model"
	"github.com/paceline/paceline/internal/pki"
)

// Operators may run the operational commands, not change what executes.
// Three routes serve both kinds of change, so they need operator and the
// handler asks for admin unless the change is operational:
//
//   - POST /v1/config: only resources' target-role and is-managed meta
//     (enable, disable, manage, unmanage), the location constraints move
//     and ban own (ids cli-prefer-*, cli-ban-*) and the permanent node
//     attributes (Nodes[].Attributes: standby, and what Debian's agents
//     such as pgsql keep with crm_attribute -l forever) may differ; a
//     node entry holding nothing but attributes may be added or dropped,
//     but its other fields (type, score, utilization, attribute sets with
//     rules) need admin; and so may properties that are no cluster option
//     (model.LookupProperty does not know them): agents' data, such as
//     the master's binlog position ocf:heartbeat:mysql keeps with
//     crm_attribute --type crm_config (NAME_REPL_INFO);
//   - POST /v1/constraints: only a location constraint with such an id;
//   - DELETE /v1/constraints/{id}: only such an id (clear).

// operationalMeta are the resource meta-attributes operators may set.
var operationalMeta = []string{"target-role", "is-managed"}

func operationalConstraintID(id string) bool {
	return strings.HasPrefix(id, "cli-prefer-") || strings.HasPrefix(id, "cli-ban-") || strings.HasPrefix(id, switchoverPrefix)
}

// needAdmin answers 403 unless p is an admin; what says which change
// needed it.
func needAdmin(p pki.Principal, r *http.Request, what string) error {
	if p.Role.Permits(pki.RoleAdmin) {
		return nil
	}
	return errorf(http.StatusForbidden, "%s has role %s; %s %s needs admin: %s", who(p), p.Role, r.Method, r.URL.Path, what)
}

// operationalChange reports whether next differs from cur only in what
// operators may change.
func operationalChange(cur, next *model.Config) bool {
	a, b := withoutOperational(cur, next), withoutOperational(next, cur)
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// withoutOperational returns c without what operators may change; other
// is the configuration c is compared with (a node entry of c holding only
// attributes counts as absent when other has no entry of that name).
func withoutOperational(c, other *model.Config) *model.Config {
	var out model.Config
	b, err := json.Marshal(c)
	if err != nil || json.Unmarshal(b, &out) != nil {
		return c // compared as is: any difference needs admin
	}
	out.Epoch = 0
	maps.DeleteFunc(out.Properties, func(name, _ string) bool {
		_, option := model.LookupProperty(name)
		return !option
	})
	if len(out.Properties) == 0 {
		out.Properties = nil
	}
	out.Nodes = slices.DeleteFunc(out.Nodes, func(n model.Node) bool {
		return bareNode(n) && !slices.ContainsFunc(other.Nodes, func(m model.Node) bool { return m.Name == n.Name })
	})
	for i := range out.Nodes {
		out.Nodes[i].Attributes = nil
	}
	if len(out.Nodes) == 0 {
		out.Nodes = nil
	}
	out.Locations = slices.DeleteFunc(out.Locations, func(l model.Location) bool { return operationalConstraintID(l.ID) })
	if len(out.Locations) == 0 {
		out.Locations = nil
	}
	var strip func(rs []model.Resource)
	strip = func(rs []model.Resource) {
		for i := range rs {
			for _, k := range operationalMeta {
				delete(rs[i].Meta, k)
			}
			if len(rs[i].Meta) == 0 {
				rs[i].Meta = nil
			}
			strip(rs[i].Children)
		}
	}
	strip(out.Resources)
	return &out
}

// bareNode reports whether n holds nothing but its name and attributes.
func bareNode(n model.Node) bool {
	ja, errA := json.Marshal(n)
	jb, errB := json.Marshal(model.Node{Name: n.Name, Attributes: n.Attributes})
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// operationalConstraint reports whether c is one move or ban makes.
func operationalConstraint(c api.Constraint) bool {
	return c.Kind == api.ConstraintLocation && c.Location != nil && c.Colocation == nil && c.Order == nil &&
		operationalConstraintID(c.Location.ID)
}
