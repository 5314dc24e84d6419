package model

import "strings"

// The role names a configuration stores: Pacemaker 2.1's names.
const (
	RoleStarted    = "Started"
	RoleStopped    = "Stopped"
	RolePromoted   = "Promoted"
	RoleUnpromoted = "Unpromoted"
)

// CanonicalRole returns the stored name of a role as an operator may write
// it: any letter case, and Pacemaker's older names Master (Promoted) and
// Slave (Unpromoted). ok is false for anything else; "" stays "" (no role).
func CanonicalRole(role string) (canon string, ok bool) {
	switch strings.ToLower(role) {
	case "":
		return "", true
	case "started":
		return RoleStarted, true
	case "stopped":
		return RoleStopped, true
	case "promoted", "master":
		return RolePromoted, true
	case "unpromoted", "slave":
		return RoleUnpromoted, true
	}
	return role, false
}

// NormalizeRoles rewrites every role the configuration names (operation
// roles, location, rule, colocation, set and ticket roles) to its stored
// name (see CanonicalRole), so that Master and Slave are accepted wherever
// Promoted and Unpromoted are. Unknown names are left as written for
// Validate to report.
func (c *Config) NormalizeRoles() {
	canon := func(s *string) {
		if r, ok := CanonicalRole(*s); ok {
			*s = r
		}
	}
	sets := func(ss []ResourceSet) {
		for i := range ss {
			canon(&ss[i].Role)
		}
	}
	var rules func(rs []Rule)
	rules = func(rs []Rule) {
		for i := range rs {
			canon(&rs[i].Role)
			rules(rs[i].Rules)
		}
	}
	var resources func(rs []Resource)
	resources = func(rs []Resource) {
		for i := range rs {
			for j := range rs[i].Ops {
				canon(&rs[i].Ops[j].Role)
			}
			resources(rs[i].Children)
		}
	}
	resources(c.Resources)
	for i := range c.Locations {
		l := &c.Locations[i]
		canon(&l.Role)
		rules(l.Rules)
		sets(l.Sets)
	}
	for i := range c.Colocations {
		co := &c.Colocations[i]
		canon(&co.Role)
		canon(&co.WithRole)
		sets(co.Sets)
	}
	for i := range c.Orders {
		sets(c.Orders[i].Sets)
	}
	for i := range c.Tickets {
		canon(&c.Tickets[i].Role)
		sets(c.Tickets[i].Sets)
	}
}
