package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/brainvq/brainvq/core/train"
)

// isTerminal reports whether f is a character device (an interactive terminal), without a dependency.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressPrinter renders training progress: a bar redrawn in place on a terminal, plain lines (at most one
// every 10 % or 30 s) otherwise, so logs of CI and background runs stay readable.
type progressPrinter struct {
	w        io.Writer
	tty      bool
	epochs   int
	last     time.Time
	lastFrac float64
}

func newProgress(w *os.File, epochs int) *progressPrinter {
	return &progressPrinter{w: w, tty: isTerminal(w), epochs: epochs}
}

func (p *progressPrinter) update(pr train.Progress) {
	frac := float64(pr.Step) / float64(pr.Steps)
	eta := time.Duration(0)
	if pr.Step > 0 {
		eta = time.Duration(float64(pr.Elapsed) / frac * (1 - frac))
	}
	stats := fmt.Sprintf("recon %.4f vq %.4f ppl %.0f  %.2f img/s  %s elapsed, ETA %s",
		pr.Recon, pr.VQ, pr.Perplexity, pr.ImagesPerSecond, round(pr.Elapsed), round(eta))
	if p.tty {
		const width = 24
		n := int(frac * width)
		fmt.Fprintf(p.w, "\r\x1b[Kepoch %d/%d [%s%s] %d/%d %s", pr.Epoch, p.epochs,
			strings.Repeat("█", n), strings.Repeat("·", width-n), pr.Step, pr.Steps, stats)
		if pr.Step == pr.Steps {
			fmt.Fprintln(p.w)
		}
		return
	}
	if pr.Step == pr.Steps || frac-p.lastFrac >= 0.1 || time.Since(p.last) >= 30*time.Second {
		fmt.Fprintf(p.w, "epoch %d/%d step %d/%d %s\n", pr.Epoch, p.epochs, pr.Step, pr.Steps, stats)
		p.last, p.lastFrac = time.Now(), frac
		if pr.Step == pr.Steps {
			p.lastFrac = 0
		}
	}
}

func round(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}
