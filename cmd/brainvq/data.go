package main

func cmdData(args []string) error {
	fs := newFlags("data", "<make|inspect|from-nifti> [flags]", "Make or inspect datasets.")
	return fs.Parse(args)
}
