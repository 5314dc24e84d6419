package main

import (
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// With PACELINE_CPU_PROFILE=FILE in its environment, a paceline process
// starts a CPU profile into FILE (mode 0600) at SIGUSR1 and writes it at
// the next SIGUSR1: a developer's aid to see where an agent's time goes
// over a window (bench/idle-cpu.sh PROFILE=DIR; `go tool pprof`).
func init() {
	path := os.Getenv("PACELINE_CPU_PROFILE")
	if path == "" {
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	go func() {
		for range ch {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				continue
			}
			_ = pprof.StartCPUProfile(f)
			<-ch
			pprof.StopCPUProfile()
			f.Close()
		}
	}()
}
