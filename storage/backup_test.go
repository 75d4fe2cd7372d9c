package storage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// stallWriter is a backup client that takes the first bytes and then
// stops reading until release is closed, like a download over a slow link.
type stallWriter struct {
	buf      bytes.Buffer
	started  chan struct{}
	release  chan struct{}
	startOne sync.Once
}

func (w *stallWriter) Write(p []byte) (int, error) {
	w.startOne.Do(func() {
		close(w.started)
		<-w.release
	})
	return w.buf.Write(p)
}

// A backup whose client does not read must not stall writers, also when
// bbolt has to grow the file (which waits for every read transaction to
// end): the copy to a local temporary file is the only time a read
// transaction is held. The backup is still a consistent, openable store
// of the moment it was taken.
func TestBackupDoesNotStallWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := Open(filepath.Join(dir, "gridbot.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	seedForCheck(t, db)
	before := mustTally(t, db, "all", "2026")

	w := &stallWriter{started: make(chan struct{}), release: make(chan struct{})}
	released := false
	release := func() {
		if !released {
			released = true
			close(w.release)
		}
	}
	defer release()
	backupDone := make(chan error, 1)
	go func() {
		_, err := db.Backup(w)
		backupDone <- err
	}()
	<-w.started // the client has the first bytes and stops reading

	// Writes that make the file grow several times over.
	st, err := os.Stat(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	size0 := st.Size()
	writes := make(chan error, 1)
	go func() {
		note := strings.Repeat("备注", 400)
		for i := 0; ; i++ {
			r := visitReport(fmt.Sprint("grow", i), "w7", "c4", "g1", "chronic", "2026-11-09")
			r.Fields["note"] = note
			if _, _, err := db.SaveReport(ctx, r); err != nil {
				writes <- err
				return
			}
			if st, err := os.Stat(db.Path()); err == nil && st.Size() >= 4*size0 {
				writes <- nil
				return
			}
		}
	}()
	select {
	case err := <-writes:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second): // a stalled writer waits until the client goes away
		release()
		t.Fatal("writes stalled behind a backup whose client does not read")
	}

	release()
	if err := <-backupDone; err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(path, w.buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	cp, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("the backup does not open: %v", err)
	}
	defer cp.Close()
	if diffs, err := cp.Check(ctx); err != nil || len(diffs) != 0 {
		t.Fatalf("backup check: %q, %v", diffs, err)
	}
	// The copy is the store as it was when the backup began.
	if got := mustTally(t, cp, "all", "2026"); !sameCounts(got, before) {
		t.Errorf("backup tallies %v, want %v (before the writes)", got, before)
	}
	// No temporary file is left beside the store.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files beside the store after the backup: %v", entries)
	}
}
