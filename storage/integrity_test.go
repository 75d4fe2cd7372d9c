package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gridbot/flows"
	"gridbot/storage/storagetest"
)

// seededFile writes a real store with enough reports for several pages
// per bucket at dir/gridbot.db, closes it and returns its path.
func seededFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gridbot.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	seedForCheck(t, db)
	saveMany(t, db, 300)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// saveMany saves n visits concurrently (so they share commits).
func saveMany(t *testing.T, db *DB, n int) {
	t.Helper()
	errs := make(chan error, n)
	for i := range n {
		go func() {
			_, _, err := db.SaveReport(context.Background(), visitReport(fmt.Sprint("many", i), fmt.Sprint("w", i%20), "c1", "g1", "chronic", fmt.Sprintf("2026-10-%02d", i%28+1)))
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// wantDamaged checks that err is ErrCorrupt, names the file and says what
// to do.
func wantDamaged(t *testing.T, err error, path string) {
	t.Helper()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("error %v, want ErrCorrupt", err)
	}
	for _, want := range []string{path, "is damaged", "restore the latest backup", "gridbot backup", "gridbot check"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// A truncated file and one with a damaged page are refused by Open with an
// error that names the file and what to do, not a panic or a fault.
func TestOpenDamagedFile(t *testing.T) {
	t.Run("truncated", func(t *testing.T) {
		path := seededFile(t)
		storagetest.Truncate(t, path)
		db, err := Open(path, Options{})
		if err == nil {
			db.Close()
		}
		wantDamaged(t, err, path)
		if !strings.Contains(err.Error(), "truncated") {
			t.Errorf("error %q does not say truncated", err)
		}
	})
	t.Run("page overwritten", func(t *testing.T) {
		path := seededFile(t)
		storagetest.CorruptPage(t, path)
		db, err := Open(path, Options{})
		if err == nil {
			db.Close()
		}
		wantDamaged(t, err, path)
	})
	t.Run("page body overwritten", func(t *testing.T) {
		path := seededFile(t)
		id, size := storagetest.DataPage(t, path)
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		junk := []byte(strings.Repeat("\xff\x7f", size/2-8)) // past the 16-byte page header
		if _, err := f.WriteAt(junk, int64(id*size+16)); err != nil {
			t.Fatal(err)
		}
		f.Close()
		db, err := Open(path, Options{})
		if err == nil {
			db.Close()
		}
		wantDamaged(t, err, path)
	})
	t.Run("not a store", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "gridbot.db")
		if err := os.WriteFile(path, []byte(strings.Repeat("备注\n", 5000)), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Open(path, Options{})
		wantDamaged(t, err, path)
	})
}

// An existing zero-length file is not taken for a new store (its data
// would silently be gone); a path that does not exist is.
func TestOpenEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gridbot.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{})
	if err == nil {
		db.Close()
		t.Fatal("a zero-length file opened as a new store")
	}
	for _, want := range []string{path, "empty (0 bytes)", "restore the latest backup", "delete the empty file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if st, _ := os.Stat(path); st.Size() != 0 {
		t.Errorf("the refused file was written to: %d bytes", st.Size())
	}
	fresh := filepath.Join(t.TempDir(), "new.db")
	db, err = Open(fresh, Options{})
	if err != nil {
		t.Fatalf("a new path: %v", err)
	}
	db.Close()
}

// A page damaged while the store is open: Check reports it (no panic), and
// from then on Ping fails, so /healthz says so.
func TestCheckDamagedWhileOpen(t *testing.T) {
	path := seededFile(t)
	id, size := storagetest.DataPage(t, path)
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("ping before: %v", err)
	}
	storagetest.OverwritePage(t, path, id, size)
	diffs, err := db.Check(ctx)
	if len(diffs) != 0 {
		t.Errorf("diffs %q", diffs)
	}
	wantDamaged(t, err, path)
	wantDamaged(t, db.Ping(ctx), path)
	// A backup of a damaged store fails instead of copying the damage.
	if _, err := db.Backup(new(strings.Builder)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("backup of a damaged store: %v", err)
	}
}

// Pages damaged under a running store: every read method returns an error
// matching ErrCorrupt instead of panicking, and Ping fails from the first
// such read on (here, Ping's own read of the buckets' first pages).
func TestReadsOfDamagedPages(t *testing.T) {
	path := seededFile(t)
	ids, size := storagetest.DataPages(t, path)
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, id := range ids {
		storagetest.OverwritePage(t, path, id, size)
	}
	ctx := context.Background()
	all, _ := flows.ParseScope("all")
	reads := map[string]func() error{
		"Workers": func() error { _, err := db.Workers(ctx); return err },
		"Tally":   func() error { _, err := db.Tally(ctx, all, "2026"); return err },
		"Reports": func() error { return db.Reports(ctx, all, "2026", true, func(flows.Report) error { return nil }) },
		"Report":  func() error { _, err := db.Report(ctx, 1); return err },
		"Ping":    func() error { return db.Ping(ctx) },
	}
	for name, read := range reads {
		if err := read(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s on damaged pages: %v, want ErrCorrupt", name, err)
		}
	}
}

// BenchmarkVerify is the page walk Open and Check do, on a store of 100k
// reports: its cost per megabyte of file (MB/s) is what serve's start-up
// and `gridbot check` pay.
func BenchmarkVerify(b *testing.B) {
	path := filepath.Join(b.TempDir(), "verify.db")
	db := fillReports(b, path, 100_000, false, nil)
	defer db.Close()
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if err := db.verify(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen opens (and so verifies) a store of 100k reports.
func BenchmarkOpen(b *testing.B) {
	path := filepath.Join(b.TempDir(), "open.db")
	fillReports(b, path, 100_000, false, nil).Close()
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ResetTimer()
	for b.Loop() {
		db, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
}
