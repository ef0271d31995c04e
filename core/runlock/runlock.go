// Package runlock keeps two processes from writing into one run folder: a training run holds an OS lock
// (flock) on RUN/.brainvq.lock for as long as it lives. The kernel drops the lock when the process exits
// or is killed, so a crashed run never leaves a stale lock behind; the file keeps the PID of the last
// holder, which a refused second writer names.
package runlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FileName is the lock file inside a run folder.
const FileName = ".brainvq.lock"

// HeldError reports a run folder locked by another process.
type HeldError struct {
	Dir string
	PID int // 0 when the holder's PID could not be read
}

func (e *HeldError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = "process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("%s is in use: %s is writing into it (wait for it to finish, or choose another folder)", e.Dir, who)
}

// Lock is a held run-folder lock.
type Lock struct{ f *os.File }

// Acquire locks dir (which must exist) for this process, or returns a *HeldError naming the holder.
func Acquire(dir string) (*Lock, error) {
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			b, _ := os.ReadFile(path)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return nil, &HeldError{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// Release drops the lock (exiting does too).
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
