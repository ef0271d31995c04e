package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReplacesWhole(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.txt")
	if err := WriteBytes(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(path, []byte("new content")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "new content" {
		t.Fatalf("content %q", b)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
}

func TestFailedWriteLeavesOldFileAndNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	WriteBytes(path, []byte("old"))
	boom := errors.New("boom")
	err := Write(path, func(w io.Writer) error {
		w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want boom", err)
	}
	b, _ := os.ReadFile(path)
	entries, _ := os.ReadDir(dir)
	if string(b) != "old" || len(entries) != 1 {
		t.Fatalf("content %q, %d entries: the failed write leaked", b, len(entries))
	}
	if err := WriteBytes(filepath.Join(dir, "missing", "x"), nil); err == nil {
		t.Fatal("missing folder: want an error")
	}
}

func TestCleanTempsRemovesOnlyOurTemps(t *testing.T) {
	dir := t.TempDir()
	keep := []string{"checkpoint.bvq", ".hidden", "x.tmp", ".checkpoint.bvq.tmp", ".checkpoint.bvq.12a.tmp", ".bvq..tmp"}
	for _, n := range keep {
		os.WriteFile(filepath.Join(dir, n), []byte("keep"), 0o644)
	}
	// A real temp name, made the way Write makes them, left behind by a "killed" writer.
	BeforeRename = func(tmp string) { panic("killed") }
	func() {
		defer func() { recover() }()
		WriteBytes(filepath.Join(dir, "checkpoint.bvq"), []byte("new"))
	}()
	BeforeRename = nil
	os.Mkdir(filepath.Join(dir, ".dir.123.tmp"), 0o755) // a folder with a temp-like name is not ours
	removed, err := CleanTemps(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || !IsTemp(filepath.Base(removed[0])) || !strings.HasPrefix(filepath.Base(removed[0]), ".checkpoint.bvq.") {
		t.Fatalf("removed %v, want the one temp file the killed write left", removed)
	}
	for _, n := range keep {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s was removed", n)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "checkpoint.bvq")); string(b) != "keep" {
		t.Errorf("the target changed: %q", b)
	}
}
