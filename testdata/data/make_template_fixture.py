"""Write testdata/data/mni_icbm152_t1_3mm.nii.gz: the MNI ICBM152 2009a T1 template block-averaged to 3 mm.

core/standin's tests use it as real anatomy small enough to ship (65×77×63 voxels). Needs the
template that scripts/fetch_template.sh fetches. Run from the repository root:

    python testdata/data/make_template_fixture.py
"""

import os

import nibabel as nib
import numpy as np

SRC = "data/template/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mni_icbm152_t1_3mm.nii.gz")


def main():
    img = nib.as_closest_canonical(nib.load(SRC))
    v = np.asarray(img.dataobj, dtype=np.float64)
    nx, ny, nz = (s // 3 * 3 for s in v.shape)
    v = v[:nx, :ny, :nz].reshape(nx // 3, 3, ny // 3, 3, nz // 3, 3).mean(axis=(1, 3, 5))
    aff = img.affine.copy()
    aff[:3, :3] *= 3
    out = nib.Nifti1Image(np.round(v).astype(np.uint8), aff)
    out.set_qform(aff, code=4)
    out.set_sform(aff, code=4)
    nib.save(out, OUT)


if __name__ == "__main__":
    main()
