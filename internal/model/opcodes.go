package model

import "strconv"

// ExitCodeName is the OCF name of an agent's exit code as crm_mon shows
// it ("not running" for 7).
func ExitCodeName(rc int) string {
	names := [...]string{"ok", "error", "invalid parameter", "unimplemented feature", "insufficient privileges",
		"not installed", "not configured", "not running", "promoted", "promoted (failed)"}
	if rc >= 0 && rc < len(names) {
		return names[rc]
	}
	return "exit code " + strconv.Itoa(rc)
}

// OpStatusName names an executor status of OpRecord.OpStatus.
func OpStatusName(status int) string {
	switch status {
	case -1:
		return "pending"
	case 0:
		return "complete"
	case 1:
		return "cancelled"
	case 2:
		return "timed out"
	case 3:
		return "not supported"
	case 4:
		return "error"
	case 5:
		return "hard error"
	case 6:
		return "fatal error"
	case 7:
		return "not installed"
	case 8:
		return "not connected"
	case 9:
		return "invalid"
	}
	return "status " + strconv.Itoa(status)
}
