// Package atomicfile writes files so that readers see either the old content or the complete new content:
// the data goes to a temp file in the same folder, which is synced and then renamed over the target.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// BeforeRename, when set, runs between the temp file's sync and its rename. Tests use it to simulate a crash
// at the worst moment; it is nil in normal use.
var BeforeRename func(tmp string)

// Write creates path through a temp file that write fills, then syncs and renames it. On any error the temp
// file is removed and path is untouched. Errors name path.
func Write(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil { // CreateTemp makes 0600; written files are ordinary outputs
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if BeforeRename != nil {
		BeforeRename(tmp)
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync() // make the rename durable; best effort on filesystems that refuse
		d.Close()
	}
	return nil
}

// tempPattern is the os.CreateTemp pattern of path's temp files: ".<name>.<random digits>.tmp".
func tempPattern(path string) string { return "." + filepath.Base(path) + ".*.tmp" }

// IsTemp reports whether a file name is one of this package's temp names (".<name>.<digits>.tmp").
func IsTemp(name string) bool {
	if !strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".tmp") {
		return false
	}
	core := strings.TrimSuffix(name[1:], ".tmp")
	dot := strings.LastIndexByte(core, '.')
	if dot <= 0 || dot == len(core)-1 {
		return false
	}
	for _, c := range core[dot+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// CleanTemps removes the temp files a killed writer left in dir (names IsTemp accepts; nothing else) and
// returns their paths. Call it only while no other process can be writing there (core/runlock).
func CleanTemps(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !IsTemp(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil {
			return removed, err
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// WriteBytes writes b to path atomically.
func WriteBytes(path string, b []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
