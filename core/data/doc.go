// Package data reads and makes the images brainvq learns from.
//
// It holds three things, in the order data flows:
//
//   - the OASIS split loader: a folder of 256×256 8-bit grey PNG slices (the "keras_png_slices_data" layout)
//     becomes a Split, a [N,H,W] float32 array of x = p/255 ∈ [0,1], decoded in parallel in a fixed natural
//     order; Stats gives the training-set mean μ and variance σ² that become model.Preprocess;
//   - a NIfTI-1 reader (.nii and .nii.gz, both byte orders, integer and float voxels) that returns a 3-D volume
//     reoriented to RAS+ voxel order;
//   - the stand-in dataset maker: from one T1 volume (by default the MNI ICBM152 2009a template that
//     scripts/fetch_template.sh fetches), it draws pseudo-subjects (random affine, elastic warp, bias field,
//     gamma, noise) and writes their axial slices in the OASIS layout, split by pseudo-subject.
//
// Segmentation-mask folders (keras_png_slices_seg_*) are never read as images: the loader refuses them.
package data
