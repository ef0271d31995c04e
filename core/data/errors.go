package data

// FormatError reports an image file the loader does not accept: not a PNG, cut short or corrupt, larger
// than MaxImageSide, or not the size asked for. Callers branch on it with errors.As; the decoder's own
// error, when there is one, is wrapped (Unwrap).
type FormatError struct {
	File  string // the file at fault ("" when decoding bytes that came from no file)
	Field string // the part at fault: "signature", "data" (pixel stream, chunks) or "size" (width × height)
	Msg   string // what is wrong, with the values found and the ones wanted
	Err   error  // the underlying decoder error, or nil
}

func (e *FormatError) Error() string {
	s := e.Msg
	if e.File != "" {
		s = e.File + ": " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }
