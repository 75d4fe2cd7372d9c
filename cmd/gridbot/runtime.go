package main

import (
	"log/slog"
	"runtime"
	"runtime/debug"
)

// Runtime settings of gridbot serve, applied unless the operator set the
// Go variable of the same name in the environment.
const (
	// minProcs keeps a second P for the goroutines that are not blocked in
	// fsync. With a single P (one CPU, or a container limited to one),
	// the goroutine committing to bbolt holds the only P through its two
	// fdatasyncs: the runtime hands a P blocked in a syscall to another
	// thread only when sysmon notices, which on a quiet sysmon takes longer
	// than the fsync itself. The whole process then stood still for every
	// commit, no request was read meanwhile, and each commit carried one
	// report (scripts/bench-pinned on one CPU: 1 write per commit, ~850
	// msgs/s; with two Ps: ~31 writes per commit, ~2600 msgs/s). Two Ps on
	// one CPU cost little: the second thread runs while the first sleeps
	// in the disk.
	minProcs = 2
	// gcPercent is the GC target of serve. Its live heap is small (a few
	// MB: the store is memory-mapped, not on the heap) while every message
	// allocates, so the default 100 collects every few hundred messages and
	// the collector took ~15% of the CPU under load; 400 collects a quarter
	// as often for a heap that stays in the tens of MB (bench-pinned: +10%
	// msgs/s).
	gcPercent = 400
)

// tuneRuntime applies minProcs and gcPercent; getenv reads the
// environment (GOMAXPROCS and GOGC set there win).
func tuneRuntime(getenv func(string) string, log *slog.Logger) {
	if getenv("GOMAXPROCS") == "" {
		if n := runtime.GOMAXPROCS(0); n < minProcs {
			runtime.GOMAXPROCS(minProcs)
			log.Debug("GOMAXPROCS raised so that a commit's fsync does not stop the server", "from", n, "to", minProcs)
		}
	}
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
