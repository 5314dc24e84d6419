package version

import (
	"runtime"
	"testing"
)

func TestStampedVersionWins(t *testing.T) {
	if v := Get(); v.Version == "" || v.GoVersion != runtime.Version() || v.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("unstamped: %+v", v)
	}
	old := stamped
	defer func() { stamped = old }()
	stamped = "1.2.3+4.gabcdef0"
	if v := Get(); v.Version != "1.2.3+4.gabcdef0" {
		t.Errorf("stamped: %+v", v)
	}
}
