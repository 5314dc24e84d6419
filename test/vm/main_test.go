package vm

import (
	"os"
	"testing"

	"github.com/paceline/paceline/test/e2e"
)

// TestMain removes the paceline binary the cluster tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	e2e.RemoveBinary()
	os.Exit(code)
}
