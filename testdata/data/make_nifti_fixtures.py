"""Write the NIfTI fixtures that core/standin's tests compare against nibabel.

Each case is a small volume with an oblique orientation, saved by nibabel in some datatype and byte order;
beside it, <name>.expected.json holds what nibabel makes of it after as_closest_canonical (reorientation to
RAS+ without resampling): the dimensions, the voxel sizes (column norms of the canonical affine) and the
scaled voxel values with x fastest. Run from the repository root:

    python testdata/data/make_nifti_fixtures.py
"""

import gzip
import json
import os

import nibabel as nib
import numpy as np

OUT = os.path.dirname(os.path.abspath(__file__))


def rotation(axis, degrees):
    """Rotation matrix about unit vector axis."""
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    t = np.deg2rad(degrees)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


def write(name, hdr, vals):
    """Write header and voxels byte for byte (nibabel's image saver would rescale and re-endian them)."""
    path = os.path.join(OUT, name)
    hdr.set_data_shape(vals.shape)
    hdr["vox_offset"] = 352
    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "wb") as f:
        hdr.write_to(f)  # 348 bytes of header and the 4-byte extension flag (no extensions)
        f.write(vals.astype(hdr.get_data_dtype()).tobytes(order="F"))
    canon = nib.as_closest_canonical(nib.load(path))
    data = np.asarray(canon.get_fdata(dtype=np.float64))
    spacing = np.sqrt((canon.affine[:3, :3] ** 2).sum(axis=0))
    expected = {
        "dim": list(data.shape),
        "spacing": [float(s) for s in spacing],
        "data": [float(v) for v in data.ravel(order="F")],
    }
    with open(path.split(".nii")[0] + ".expected.json", "w") as f:
        json.dump(expected, f)


def main():
    rng = np.random.default_rng(7)
    shape = (5, 4, 3)

    # 1. qform only: a 25° tilt of a permuted, flipped frame; big-endian int16 with scaling, qfac −1.
    lin = (
        rotation([1, 2, 0.5], 25)
        @ np.array([[0, -1, 0], [0, 0, 1], [1, 0, 0]])
        @ np.diag([1.2, 0.9, 2.0])
    )
    aff = np.eye(4)
    aff[:3, :3] = lin
    aff[:3, 3] = [4, -5, 6]
    hdr = nib.Nifti1Header(endianness=">")
    hdr.set_data_dtype(np.int16)
    hdr.set_qform(aff, code=1)
    hdr.set_sform(np.eye(4), code=0)
    hdr["scl_slope"], hdr["scl_inter"] = 0.5, -3.0
    write("oblique_qform_be_int16.nii.gz", hdr, rng.integers(-500, 500, size=shape))

    # 2. sform (oblique, flips on two axes) wins over a different qform; little-endian float64.
    lin = (
        rotation([0.3, -1, 0.2], -15)
        @ np.array([[-1, 0, 0], [0, 0, -1], [0, 1, 0]])
        @ np.diag([1.0, 1.5, 0.7])
    )
    aff = np.eye(4)
    aff[:3, :3] = lin
    hdr = nib.Nifti1Header(endianness="<")
    hdr.set_data_dtype(np.float64)
    hdr.set_qform(np.diag([2.0, 2.0, 2.0, 1.0]), code=1)
    hdr.set_sform(aff, code=2)
    write("oblique_sform_float64.nii", hdr, rng.normal(size=shape))

    # 3. uint8 with pixdim only (no qform, no sform): nibabel then uses its base affine, which is RAS for
    #    a positive pixdim[1]... see the test for the convention difference.
    hdr = nib.Nifti1Header(endianness="<")
    hdr.set_data_dtype(np.uint8)
    hdr.set_data_shape(shape)
    hdr.set_zooms((1.0, 2.0, 3.0))
    hdr.set_qform(None, code=0)
    hdr.set_sform(None, code=0)
    write("no_orientation_uint8.nii", hdr, rng.integers(0, 255, size=shape))


if __name__ == "__main__":
    main()
