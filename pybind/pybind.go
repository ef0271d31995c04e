package pybind

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/brainvq/brainvq/core/model"
)

// Version returns the brainvq version this extension was built from (core/model.Version, the one
// written into checkpoints and ONNX files); tests/wheel checks that the wheel's metadata matches it.
func Version() string {
	return model.Version
}

// Echo returns a copy of b. It exists to test the bytes path (Python bytes → Go []byte →
// Python bytes) and costs one copy in Go on top of gopy's own copies.
func Echo(b []byte) (out []byte, err error) {
	defer guard("Echo", &err)
	out = make([]byte, len(b))
	copy(out, b)
	return out, nil
}

// Fail always returns an error whose message is msg. It exists so tests can check that a Go
// error reaches Python as an exception carrying the Go message. The int result is always 0
// (see the package comment for why functions never return only an error).
func Fail(msg string) (n int, err error) {
	defer guard("Fail", &err)
	return 0, errors.New(msg)
}

// Panic always panics with msg; guard turns the panic into an error. It exists so tests can
// check that a panic in Go raises a Python exception and the interpreter survives.
func Panic(msg string) (n int, err error) {
	defer guard("Panic", &err)
	panic(msg)
}

// guard recovers a panic in the exported function named fn and stores it in *errp as an error
// naming fn, the panic value and the Go stack from the panicking frame down (at most
// stackLines lines); an error the function returned gets the prefix that names its Python
// exception (see tagged in errors.go). Use it as the first statement of every exported function:
// `defer guard("Name", &err)`.
func guard(fn string, errp *error) {
	r := recover()
	if r == nil {
		*errp = tagged(*errp)
		return
	}
	*errp = fmt.Errorf("brainvq: Go panic in %s: %v\n%s", fn, r, panicStack(debug.Stack(), stackLines))
}

// stackLines bounds the stack trace carried by a recovered panic's error message.
const stackLines = 24

// panicStack trims a debug.Stack trace taken inside a deferred recover: it drops the frames of
// debug.Stack, guard and the runtime's panic (everything up to and including the "panic(" frame
// and its file line), keeps the goroutine header, and keeps at most maxLines lines after that.
func panicStack(stack []byte, maxLines int) string {
	lines := strings.Split(strings.TrimRight(string(stack), "\n"), "\n")
	if len(lines) == 0 {
		return ""
	}
	head, frames := lines[0], lines[1:]
	for i, l := range frames {
		if strings.HasPrefix(l, "panic(") && i+2 <= len(frames) {
			frames = frames[i+2:]
			break
		}
	}
	if len(frames) > maxLines {
		frames = append(frames[:maxLines:maxLines], "\t...")
	}
	return strings.Join(append([]string{head}, frames...), "\n")
}
