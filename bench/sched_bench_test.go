// Package bench measures Paceline's scheduler; it asserts nothing about
// timings. BenchmarkSchedule schedules synthetic CIBs written by the
// corpus's gen_big.py (skipped when python3 or ../shared/conformance is
// absent); sched.sh compares the binary with crm_simulate.
//
//	go test ./bench -run '^$' -bench Schedule -benchtime 3x
package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/paceline/paceline/internal/cib"
	"github.com/paceline/paceline/internal/sched"
)

// corpusDir returns the shared conformance directory, or skips.
func corpusDir(b *testing.B) string {
	dir := os.Getenv("CONFORMANCE_DIR")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			b.Fatal(err)
		}
		dir = filepath.Join(wd, "..", "..", "shared", "conformance") // bench/ is one below the module root
	}
	if _, err := os.Stat(filepath.Join(dir, "gen_big.py")); err != nil {
		b.Skipf("NOTICE: gen_big.py not found (%v); set CONFORMANCE_DIR", err)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		b.Skip("NOTICE: python3 not found; it runs gen_big.py")
	}
	return dir
}

func BenchmarkSchedule(b *testing.B) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"p200-n8", []string{"-p", "200", "-n", "8"}},
		{"p2000-n32", []string{"-p", "2000", "-n", "32"}},
		{"p10000-n100-noprobes", []string{"-p", "10000", "-n", "100", "--no-probes"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			dir := corpusDir(b)
			path := filepath.Join(b.TempDir(), c.name+".xml")
			args := append([]string{filepath.Join(dir, "gen_big.py")}, c.args...)
			if out, err := exec.Command("python3", append(args, "-o", path)...).CombinedOutput(); err != nil {
				b.Fatalf("gen_big.py: %v\n%s", err, out)
			}
			cfg, status, err := cib.ParseFile(path)
			if err != nil {
				b.Fatalf("parse: %v", err)
			}
			in := sched.Input{Config: cfg, Status: status, Now: time.Unix(1735732800, 0)}
			b.ResetTimer()
			for b.Loop() {
				if _, err := sched.Schedule(in); err != nil {
					b.Fatalf("schedule: %v", err)
				}
			}
		})
	}
}
