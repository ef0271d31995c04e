package pybind

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/brainvq/brainvq/core/data"
	"github.com/brainvq/brainvq/core/train"
)

// Errors cross into Python as a RuntimeError carrying err.Error() (that is all gopy passes). So that Python
// can raise what Python code expects — FileNotFoundError for a missing file, ValueError or TypeError naming
// the parameter for a bad argument — every error that is not an internal failure leaves through guard with a
// prefix naming the Python exception:
//
//	[brainvq:ValueError] batch_size: batch size 0 must be ≥ 1
//
// python/brainvq/_binding.py reads the prefix and raises that exception with the rest of the message; an
// error without it is an internal failure and becomes brainvq.GoError.

// Python exception names an error may carry (kindPrefix + name + "] ").
const (
	kindValue      = "ValueError"         // an argument (or the file it names) holds a bad value
	kindType       = "TypeError"          // an argument of the wrong type, an unknown setting
	kindNotFound   = "FileNotFoundError"  // a file or folder the caller named does not exist
	kindExists     = "FileExistsError"    // a file or folder the call would create exists
	kindPermission = "PermissionError"    // the file system refused access
	kindNotDir     = "NotADirectoryError" // a folder was expected
	kindIsDir      = "IsADirectoryError"  // a file was expected
	kindOS         = "OSError"            // any other file-system error
	kindState      = "RuntimeError"       // a call that the object's state does not allow (save mid-epoch)
	kindNonFinite  = "FloatingPointError" // training diverged to a NaN or infinite loss
	kindPrefix     = "[brainvq:"
)

// CallError is an error that Python raises as the exception Kind names instead of GoError. Param, when set,
// is the Python parameter at fault and leads the message ("batch_size: ...").
type CallError struct {
	Kind  string // a Python exception name, one of the kind* constants
	Param string // the Python parameter at fault, or ""
	Err   error
}

func (e *CallError) Error() string {
	if e.Param == "" {
		return e.Err.Error()
	}
	return e.Param + ": " + e.Err.Error()
}

func (e *CallError) Unwrap() error { return e.Err }

// badArg marks err as a bad value of the Python parameter param (ValueError).
func badArg(param string, err error) error {
	return &CallError{Kind: kindValue, Param: param, Err: err}
}

// badArgf is badArg with a formatted message.
func badArgf(param, format string, args ...any) error {
	return badArg(param, fmt.Errorf(format, args...))
}

// badType marks err as a wrong type or an unknown name in the Python parameter param (TypeError).
func badType(param string, err error) error {
	return &CallError{Kind: kindType, Param: param, Err: err}
}

// badState marks err as a call the object's state does not allow (RuntimeError).
func badState(err error) error { return &CallError{Kind: kindState, Err: err} }

// badFile marks an error reading the file or folder that parameter param names: file-system errors keep
// their own kind (see kindOf), anything else means the content is wrong (ValueError).
func badFile(param string, err error) error {
	if err == nil {
		return nil
	}
	var ce *CallError
	if errors.As(err, &ce) || kindOf(err) != "" {
		return err
	}
	return badArg(param, err)
}

// checkPath reports a path that parameter param names and that does not exist, or that is a folder where a
// file is wanted (dir false) or the other way round, as the matching Python exception.
func checkPath(param, path string, dir bool) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &CallError{Kind: kindNotFound, Param: param, Err: fmt.Errorf("%s does not exist", path)}
	case err != nil:
		return &CallError{Kind: fsKind(err), Param: param, Err: err}
	case dir && !st.IsDir():
		return &CallError{Kind: kindNotDir, Param: param, Err: fmt.Errorf("%s is not a folder", path)}
	case !dir && st.IsDir():
		return &CallError{Kind: kindIsDir, Param: param, Err: fmt.Errorf("%s is a folder, not a file", path)}
	}
	return nil
}

// fsKind is the Python exception for a file-system error.
func fsKind(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return kindNotFound
	case errors.Is(err, fs.ErrExist):
		return kindExists
	case errors.Is(err, fs.ErrPermission):
		return kindPermission
	}
	return kindOS
}

// kindOf is the Python exception err becomes, or "" for an internal failure (GoError). A *CallError says so
// itself; otherwise file-system errors (*fs.PathError and the fs sentinels), a non-finite training loss and
// a segmentation-mask folder passed as images are recognised wherever they are wrapped.
func kindOf(err error) string {
	var ce *CallError
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &ce):
		return ce.Kind
	case errors.Is(err, train.ErrNonFinite):
		return kindNonFinite
	case errors.Is(err, data.ErrSegMasks):
		return kindValue
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrExist), errors.Is(err, fs.ErrPermission),
		errors.As(err, &pe), errors.As(err, &le):
		return fsKind(err)
	}
	return ""
}

// tagged returns err with the prefix that tells Python which exception to raise (see kindOf); internal
// failures and errors already tagged come back unchanged.
func tagged(err error) error {
	if err == nil || strings.HasPrefix(err.Error(), kindPrefix) {
		return err
	}
	kind := kindOf(err)
	if kind == "" {
		return err
	}
	return &taggedError{kind: kind, err: err}
}

// taggedError is an error whose message carries its Python exception's name in front.
type taggedError struct {
	kind string
	err  error
}

func (e *taggedError) Error() string { return kindPrefix + e.kind + "] " + e.err.Error() }
func (e *taggedError) Unwrap() error { return e.err }
