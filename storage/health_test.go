package storage

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gridbot/storage/storagetest"
)

// A write that fails (disk full, I/O error) makes Ping fail until writes
// work again; the failed report is not counted.
func TestPingReportsFailedWrites(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("storagetest.FailWrites needs Linux")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gridbot.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustSave(t, db, visitReport("a", "w1", "c1", "g1", "chronic", "2026-11-05"))

	restore := storagetest.FailWrites(t, path)
	if _, _, err := db.SaveReport(ctx, visitReport("b", "w1", "c1", "g1", "chronic", "2026-11-05")); err == nil {
		t.Fatal("a save succeeded with writes failing")
	}
	err = db.Ping(ctx)
	if err == nil || !strings.Contains(err.Error(), "writes to "+path+" fail since") {
		t.Fatalf("ping with writes failing: %v", err)
	}
	if err := db.Ping(ctx); err == nil {
		t.Fatal("second ping with writes failing passed")
	}

	restore()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("ping once writes work again: %v", err)
	}
	mustSave(t, db, visitReport("c", "w1", "c1", "g1", "chronic", "2026-11-05"))
	if got := mustTally(t, db, "all", "2026-11"); got["visit"] != 2 {
		t.Errorf("tally %v, want 2 visits (the failed one not counted)", got)
	}
	if diffs, err := db.Check(ctx); err != nil || len(diffs) != 0 {
		t.Errorf("check: %q %v", diffs, err)
	}
}
