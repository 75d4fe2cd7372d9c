package main

import (
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestTuneRuntime(t *testing.T) {
	procs, gc := runtime.GOMAXPROCS(0), debug.SetGCPercent(100)
	t.Cleanup(func() {
		runtime.GOMAXPROCS(procs)
		debug.SetGCPercent(gc)
	})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	// One CPU: a second P, and the GC target raised.
	runtime.GOMAXPROCS(1)
	tuneRuntime(env(nil), log)
	if got := runtime.GOMAXPROCS(0); got != minProcs {
		t.Errorf("GOMAXPROCS on one CPU = %d, want %d", got, minProcs)
	}
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GC percent = %d, want %d", got, gcPercent)
	}

	// More Ps than the floor are left alone.
	runtime.GOMAXPROCS(3)
	tuneRuntime(env(nil), log)
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Errorf("GOMAXPROCS 3 became %d", got)
	}

	// The operator's GOMAXPROCS and GOGC win.
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(50)
	tuneRuntime(env(map[string]string{"GOMAXPROCS": "1", "GOGC": "50"}), log)
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Errorf("GOMAXPROCS=1 in the environment became %d", got)
	}
	if got := debug.SetGCPercent(100); got != 50 {
		t.Errorf("GOGC=50 in the environment became %d", got)
	}
}
