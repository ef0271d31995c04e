// Package data is what training reads: OASIS-layout PNG slices in, float32 images out.
//
//   - the OASIS split loader: a folder of 256×256 8-bit grey PNG slices (the "keras_png_slices_data" layout)
//     becomes a Split, a [N,H,W] float32 array of x = p/255 ∈ [0,1], decoded in parallel (core/parallel) in
//     a fixed natural order; Stats gives the training-set mean μ and variance σ² that become
//     model.Preprocess;
//   - single images: LoadImage and SaveImage, with the same x = p/255 rule both ways (Pixel).
//
// Every image's header is checked before its pixels are decoded: a file that is not a PNG, is cut short or
// corrupt, claims more than MaxImageSide pixels a side, or has the wrong size is refused with a *FormatError
// naming the file, before any large allocation.
//
// Segmentation-mask folders (keras_png_slices_seg_*) are never read as images: the loader refuses them.
//
// The stand-in dataset maker (NIfTI reader, 3-D volume operations, pseudo-subjects) writes this layout but
// lives in core/standin, which imports this package; nothing here imports it.
package data
