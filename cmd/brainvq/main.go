// Command brainvq trains, evaluates and exports VQ-VAE models of 2D brain MRI slices.
//
// Usage: brainvq <command> [flags]; brainvq <command> --help for each command's flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

// command is one subcommand: run parses its own flags from args.
type command struct {
	name, summary string
	run           func(args []string) error
}

func commands() []command {
	return []command{
		{"data", "make a stand-in dataset from a T1 volume, or inspect an OASIS-layout dataset", cmdData},
		{"train", "train a VQ-VAE on an OASIS-layout dataset", cmdTrain},
		{"eval", "score a checkpoint on a split: SSIM, PSNR, MSE, per-image CSV, picture grid", cmdEval},
		{"reconstruct", "reconstruct PNG slices with a checkpoint (PNG in, PNG out)", cmdReconstruct},
		{"info", "print what a checkpoint holds", cmdInfo},
		{"export", "export a checkpoint as ONNX graphs and codebook.npy", cmdExport},
		{"prior", "train a PixelCNN prior over a VQ-VAE's codes (prior train)", cmdPrior},
		{"sample", "generate new slices from a prior", cmdSample},
		{"complete", "complete real slices: keep part of their codes, sample the rest", cmdComplete},
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "brainvq: VQ-VAE for 2D brain MRI slices\n\nUsage:\n  brainvq <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'brainvq <command> --help' for a command's flags.\n")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	for _, c := range commands() {
		if c.name == os.Args[1] {
			err := c.run(os.Args[2:])
			if errors.Is(err, flag.ErrHelp) {
				return
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "brainvq %s: %v\n", c.name, err)
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "brainvq: unknown command %q\n\n", os.Args[1])
	usage()
	os.Exit(2)
}

// newFlags makes a FlagSet for a subcommand whose --help prints the summary and the flags.
func newFlags(name, usageLine, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet("brainvq "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: brainvq %s %s\n\n%s\n\nFlags:\n", name, usageLine, summary)
		fs.PrintDefaults()
	}
	return fs
}
