// Package storagetest damages bbolt files the way failing disks and
// interrupted copies do, for tests of what gridbot does with them (package
// storage refuses them with a clear error instead of panicking).
//
// It imports bbolt only, never storage, bot or cmd.
package storagetest

import (
	"os"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// Truncate cuts the file at path to half its size, as an interrupted copy
// would: its meta pages then name pages beyond its end.
func Truncate(t testing.TB, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()/2); err != nil {
		t.Fatal(err)
	}
}

// DataPage returns the id and size of a leaf page in use (a page holding
// records) of the closed bbolt file at path, the last one in file order.
func DataPage(t testing.TB, path string) (id, pageSize int) {
	t.Helper()
	ids, pageSize := DataPages(t, path)
	return ids[len(ids)-1], pageSize
}

// DataPages returns the ids of every leaf page in use of the closed bbolt
// file at path, and the page size.
func DataPages(t testing.TB, path string) (ids []int, pageSize int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pageSize = db.Info().PageSize
	err = db.View(func(tx *bolt.Tx) error {
		for i := 2; ; i++ {
			p, err := tx.Page(i)
			if err != nil || p == nil {
				return err
			}
			if p.Type == "leaf" {
				ids = append(ids, i)
			}
		}
	})
	if err != nil || len(ids) == 0 {
		t.Fatalf("no leaf page in %s: %v", path, err)
	}
	return ids, pageSize
}

// OverwritePage fills page id of the file at path with garbage, as a bad
// sector would. It writes through the file, so a process that has the file
// mapped sees the damage at once.
func OverwritePage(t testing.TB, path string, id, pageSize int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, pageSize)
	for i := range junk {
		junk[i] = byte(i*7 + 13)
	}
	if _, err := f.WriteAt(junk, int64(id)*int64(pageSize)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// CorruptPage overwrites a leaf page in use of the closed file at path.
func CorruptPage(t testing.TB, path string) {
	t.Helper()
	id, size := DataPage(t, path)
	OverwritePage(t, path, id, size)
}
