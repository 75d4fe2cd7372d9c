package storagetest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// FailWrites makes every write to the file at path, which this process has
// open read-write (a running store), fail with an I/O error (EBADF), as a
// full or failing disk would, until restore is called. It swaps a
// read-only descriptor of the same file in under the store's descriptor
// (found in /proc/self/fd); reads and the file lock are not affected.
// Linux only.
func FailWrites(t testing.TB, path string) (restore func()) {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	fd := -1
	for _, e := range entries {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && target == abs {
			if fd >= 0 {
				t.Fatalf("%s is open more than once", abs)
			}
			var n int
			for _, c := range e.Name() {
				n = n*10 + int(c-'0')
			}
			fd = n
		}
	}
	if fd < 0 {
		t.Fatalf("%s is not open in this process", abs)
	}
	saved, err := syscall.Dup(fd)
	if err != nil {
		t.Fatal(err)
	}
	ro, err := syscall.Open(abs, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup3(ro, fd, syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	syscall.Close(ro)
	restored := false
	restore = func() {
		if restored {
			return
		}
		restored = true
		if err := syscall.Dup3(saved, fd, syscall.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		syscall.Close(saved)
	}
	t.Cleanup(restore)
	return restore
}
