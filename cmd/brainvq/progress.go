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

// update shows the VQ-VAE trainer's progress.
func (p *progressPrinter) update(pr train.Progress) {
	p.show(pr.Epoch, pr.Step, pr.Steps, pr.Elapsed, fmt.Sprintf("recon %.4f vq %.4f ppl %.0f  %.2f img/s",
		pr.Recon, pr.VQ, pr.Perplexity, pr.ImagesPerSecond))
}

// updatePrior shows the prior trainer's progress.
func (p *progressPrinter) updatePrior(pr train.PriorProgress) {
	p.show(pr.Epoch, pr.Step, pr.Steps, pr.Elapsed, fmt.Sprintf("%.3f bits/code accuracy %.3f  %.2f img/s",
		pr.Bits, pr.Accuracy, pr.ImagesPerSecond))
}

// show draws one progress line: step of steps of the epoch, the trainer's stats, elapsed time and ETA.
func (p *progressPrinter) show(epoch, step, steps int, elapsed time.Duration, stats string) {
	frac := float64(step) / float64(steps)
	eta := time.Duration(0)
	if step > 0 {
		eta = time.Duration(float64(elapsed) / frac * (1 - frac))
	}
	stats = fmt.Sprintf("%s  %s elapsed, ETA %s", stats, round(elapsed), round(eta))
	if p.tty {
		const width = 24
		n := int(frac * width)
		fmt.Fprintf(p.w, "\r\x1b[Kepoch %d/%d [%s%s] %d/%d %s", epoch, p.epochs,
			strings.Repeat("█", n), strings.Repeat("·", width-n), step, steps, stats)
		if step == steps {
			fmt.Fprintln(p.w)
		}
		return
	}
	if step == steps || frac-p.lastFrac >= 0.1 || time.Since(p.last) >= 30*time.Second {
		fmt.Fprintf(p.w, "epoch %d/%d step %d/%d %s\n", epoch, p.epochs, step, steps, stats)
		p.last, p.lastFrac = time.Now(), frac
		if step == steps {
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
