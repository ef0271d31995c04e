// Package standin makes the OASIS-like stand-in dataset from one 3-D T1 volume, for when OASIS itself is
// not at hand. It is a tool that writes data, not part of what training reads: it imports core/data (the
// layout's names, the image size) and core/data never imports it.
//
// It holds, in the order data flows:
//
//   - a NIfTI-1 reader (.nii and .nii.gz, both byte orders, integer and float voxels) that returns a 3-D
//     Volume reoriented to RAS+ voxel order; the header is checked (size against the file, MaxVoxels, NaN
//     and infinite voxels) before anything large is allocated, and content problems are *FormatError;
//   - 3-D volume operations (separable Gaussian blur, exact distance transform, per-slice convex hulls,
//     trilinear and bilinear sampling), their loops spread over threads by core/parallel;
//   - the maker, Make: from the volume (by default the MNI ICBM152 2009a template that
//     scripts/fetch_template.sh fetches) it draws pseudo-subjects (random affine, elastic warp, bias field,
//     gamma, noise) and writes their axial slices in the OASIS layout, split by pseudo-subject, with a
//     Manifest saying how. The same seed makes the same bytes on any number of threads.
package standin
