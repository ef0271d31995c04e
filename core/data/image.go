package data

// LoadImage reads one PNG slice as [size,size] grey values in [0,1] (x = p/255 for 8-bit grey), with the same
// rules and errors as the split loader: other sizes are resampled only when resize is set.
func LoadImage(path string, size int, resize bool) ([]float32, error) {
	dst := make([]float32, size*size)
	if err := decodeFile(path, dst, size, resize); err != nil {
		return nil, err
	}
	return dst, nil
}
