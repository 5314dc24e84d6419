package httpapi

import (
	"strconv"

	"github.com/paceline/paceline/api"
)

// replicationOf reads the replication health builtin:postgresql publishes
// for primitive prim as node attributes (pgsql-PRIM-role, -timeline, -lsn,
// -lag, -sync), or nil when it published none on this node.
func replicationOf(attrs map[string]string, prim string) *api.Replication {
	attr := func(name string) string { return attrs["pgsql-"+prim+"-"+name] }
	role := attr("role")
	if role == "" {
		return nil
	}
	r := &api.Replication{Role: role, LSN: attr("lsn"), Sync: attr("sync")}
	r.Timeline, _ = strconv.Atoi(attr("timeline"))
	r.LagBytes, _ = strconv.ParseInt(attr("lag"), 10, 64)
	if role != "primary" && role != "standby" {
		// What a primary or standby published before no longer holds.
		r.LSN, r.Sync, r.LagBytes = "", "", 0
	}
	return r
}
