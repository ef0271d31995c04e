package pybind

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

func TestEchoCopies(t *testing.T) {
	in := []byte{0, 1, 2, 250, 255}
	out, err := Echo(in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, in) {
		t.Fatalf("Echo(%v) = %v", in, out)
	}
	in[0] = 9
	if out[0] != 0 {
		t.Fatal("Echo returned memory shared with its argument")
	}
	empty, err := Echo(nil)
	if err != nil || empty == nil || len(empty) != 0 {
		t.Fatalf("Echo(nil) = %v (nil: %v), %v; want empty non-nil slice", empty, empty == nil, err)
	}
}

func TestFailReturnsMessage(t *testing.T) {
	_, err := Fail("disk on fire")
	if err == nil || err.Error() != "disk on fire" {
		t.Fatalf("Fail error = %v", err)
	}
}

func TestPanicBecomesError(t *testing.T) {
	_, err := Panic("kaboom")
	if err == nil {
		t.Fatal("Panic returned no error")
	}
	msg := err.Error()
	for _, want := range []string{"Go panic in Panic: kaboom", "pybind.Panic("} {
		if !strings.Contains(msg, want) {
			t.Errorf("panic error lacks %q:\n%s", want, msg)
		}
	}
	// The trimmed stack starts at the panicking function, not in the recovery machinery.
	for _, unwanted := range []string{"debug.Stack", "pybind.guard"} {
		if strings.Contains(msg, unwanted) {
			t.Errorf("panic error still shows %q:\n%s", unwanted, msg)
		}
	}
}

func TestPanicStackTrimming(t *testing.T) {
	stack := "goroutine 1 [running]:\n" +
		"runtime/debug.Stack()\n\tstack.go:26\n" +
		"pkg.guard()\n\tguard.go:1\n" +
		"panic({0x1})\n\tpanic.go:860\n" +
		"pkg.F()\n\tf.go:10\n" +
		"pkg.G()\n\tg.go:20\n"
	got := panicStack([]byte(stack), 3)
	want := "goroutine 1 [running]:\npkg.F()\n\tf.go:10\npkg.G()\n\t..."
	if got != want {
		t.Fatalf("panicStack =\n%q\nwant\n%q", got, want)
	}
	// Without a panic frame nothing is dropped but the length bound.
	got = panicStack([]byte("goroutine 1:\na\nb"), 10)
	if got != "goroutine 1:\na\nb" {
		t.Fatalf("panicStack without panic frame = %q", got)
	}
}

func TestBlobHandles(t *testing.T) {
	before, _ := LiveHandles()
	src := []byte("abc")
	h, err := NewBlob(src)
	if err != nil || h < 1 {
		t.Fatalf("NewBlob = %d, %v", h, err)
	}
	src[0] = 'x'
	got, err := BlobBytes(h)
	if err != nil || string(got) != "abc" {
		t.Fatalf("BlobBytes = %q, %v; want the copy made at NewBlob", got, err)
	}
	if n, _ := LiveHandles(); n != before+1 {
		t.Fatalf("LiveHandles = %d, want %d", n, before+1)
	}
	if ok, err := Release(h); !ok || err != nil {
		t.Fatalf("Release = %v, %v", ok, err)
	}
	if n, _ := LiveHandles(); n != before {
		t.Fatalf("LiveHandles after release = %d, want %d", n, before)
	}
	if _, err := BlobBytes(h); err == nil || !strings.Contains(err.Error(), "invalid or released handle") {
		t.Fatalf("BlobBytes of released handle: err = %v", err)
	}
	if _, err := Release(h); err == nil {
		t.Fatal("second Release succeeded")
	}
	// Handles are never reused.
	h2, _ := NewBlob(nil)
	defer Release(h2)
	if h2 <= h {
		t.Fatalf("new handle %d not above released %d", h2, h)
	}
}

func TestGetAsWrongType(t *testing.T) {
	h := handles.put(42)
	defer handles.release(h)
	if _, err := getAs[*blob](h, "blob"); err == nil || !strings.Contains(err.Error(), "not a blob") {
		t.Fatalf("getAs of an int as blob: err = %v", err)
	}
}

func TestRegistryConcurrent(t *testing.T) {
	const workers, each = 8, 200
	before := handles.len()
	var wg sync.WaitGroup
	ids := make([][]int64, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				ids[w] = append(ids[w], handles.put(i))
			}
		}()
	}
	wg.Wait()
	seen := make(map[int64]bool)
	for _, list := range ids {
		for _, h := range list {
			if seen[h] {
				t.Fatalf("handle %d issued twice", h)
			}
			seen[h] = true
		}
	}
	for h := range seen {
		if err := handles.release(h); err != nil {
			t.Fatal(err)
		}
	}
	if n := handles.len(); n != before {
		t.Fatalf("registry has %d entries after releasing all, want %d", n, before)
	}
}
