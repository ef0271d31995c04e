"""brainvq.scale_inputs without Ray: naming, block listing, PNG errors, volume slicing geometry."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import write_png


def test_names():
    from brainvq.scale_inputs import png_identity, volume_identity

    p = png_identity("/d/keras_png_slices_test/case_441_slice_20.nii.png")
    assert (p["subject"], p["volume"], p["slice"], p["split"]) == (
        "case_441",
        "case_441",
        20,
        "test",
    )
    p = png_identity("/d/scanner7/img_0012.png")
    assert (p["subject"], p["volume"], p["slice"], p["split"]) == ("scanner7", "img_0012", 12, "")
    assert volume_identity("/c/sub-07/anat/sub-07_T1w.nii.gz") == ("sub-07", "sub-07_T1w")
    assert volume_identity("/c/OAS1_0001_MR1_mpr.nii") == ("OAS1_0001", "OAS1_0001_MR1_mpr")
    assert volume_identity("/c/scan.nii.gz") == ("scan", "scan")


def test_list_blocks(tmp_path):
    from brainvq.scale_inputs import SliceOptions, list_blocks

    a = tmp_path / "keras_png_slices_train"
    seg = tmp_path / "keras_png_slices_seg_train"
    a.mkdir()
    seg.mkdir()
    for k in (10, 9, 1, 2, 3):
        write_png(a / ("case_001_slice_%d.nii.png" % k), np.zeros((12, 12), np.uint8))
        write_png(seg / ("seg_001_slice_%d.nii.png" % k), np.zeros((12, 12), np.uint8))
    (tmp_path / "v.nii.gz").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not an image")
    opt = SliceOptions(size=12)
    blocks, bad = list_blocks([str(tmp_path), str(tmp_path / "missing.png")], 2, opt)
    assert [b.kind for b in blocks] == ["png", "png", "png", "nifti"]
    names = [p.rsplit("/", 1)[1] for b in blocks[:3] for p in b.paths]
    assert names == ["case_001_slice_%d.nii.png" % k for k in (1, 2, 3, 9, 10)]  # natural order
    assert [len(b.paths) for b in blocks] == [2, 2, 1, 1]
    assert bad == [(str(tmp_path / "missing.png"), "no such file or folder")]
    again, _ = list_blocks([str(tmp_path)], 2, opt)
    assert [b.id for b in again] == [b.id for b in blocks]  # same cohort, same ids
    other, _ = list_blocks([str(tmp_path)], 2, SliceOptions(size=12, contrast=2.0))
    assert [b.id for b in other[:3]] == [b.id for b in blocks[:3]]  # slicing changes volumes only
    assert other[3].id != blocks[3].id
    write_png(a / "case_001_slice_1.nii.png", np.ones((12, 12), np.uint8))  # a changed file
    changed, _ = list_blocks([str(tmp_path)], 2, opt)
    assert changed[0].id != blocks[0].id and changed[1].id == blocks[1].id


def test_png_block_isolates_bad_files(tmp_path, brainvq):
    from brainvq.scale_inputs import read_png_block

    good = tmp_path / "case_001_slice_0.nii.png"
    px = (np.arange(144).reshape(12, 12) % 256).astype(np.uint8)
    write_png(good, px)
    odd = tmp_path / "case_001_slice_1.nii.png"
    write_png(odd, np.zeros((16, 12), np.uint8))
    cut = tmp_path / "case_001_slice_2.nii.png"
    cut.write_bytes(good.read_bytes()[:40])
    b = read_png_block([str(good), str(odd), str(cut)], 12)
    assert [m["slice"] for m in b.meta] == [0]
    np.testing.assert_array_equal(b.images[0], px.astype(np.float32) / np.float32(255))
    reasons = dict(b.errors)
    assert set(reasons) == {str(odd), str(cut)}
    assert "12×16" in reasons[str(odd)] and str(odd) in reasons[str(odd)]
    assert "truncated" in reasons[str(cut)] and "brainvq-scale-" not in reasons[str(cut)]


def _save(path, data, affine):
    import nibabel as nib

    nib.save(nib.Nifti1Image(data, affine), str(path))


def test_volume_slices_orientation(tmp_path):
    """Rows run along x (the subject's right at the bottom), columns along y (front on the right); a
    volume stored LPS gives the same slices as the same head stored RAS."""
    from brainvq.scale_inputs import SliceOptions, volume_slices

    nx, ny, nz = 20, 24, 10
    v = np.zeros((nx, ny, nz), np.float32)
    v[3:17, 3:21, 1:9] = 100  # the head
    v[14:17, 3:21, 1:9] = 200  # brighter on the right (high x)
    v[3:17, 18:21, 1:9] = 150  # and at the front (high y)
    ras = np.diag([2.0, 2.0, 3.0, 1.0])
    _save(tmp_path / "ras.nii.gz", v, ras)
    lps = np.diag([-2.0, -2.0, 3.0, 1.0])
    _save(tmp_path / "lps.nii", v[::-1, ::-1].copy(), lps)
    opt = SliceOptions(size=32)
    a, za = volume_slices(str(tmp_path / "ras.nii.gz"), opt)
    b, zb = volume_slices(str(tmp_path / "lps.nii"), opt)
    assert za == zb == list(range(1, 9))
    np.testing.assert_array_equal(a, b)
    img = a[3].astype(float)
    assert img.dtype == float and a.dtype == np.uint8 and a.shape == (8, 32, 32)
    # right (high x) → bottom rows brighter than top rows inside the head; front (high y) → right.
    rows = img[:, 8:24]
    assert rows[20:28][rows[20:28] > 0].mean() > rows[4:12][rows[4:12] > 0].mean()
    cols = img[8:24, :]
    assert cols[:, 22:30][cols[:, 22:30] > 0].mean() > cols[:, 2:10][cols[:, 2:10] > 0].mean()
    # the head (x 28 mm, y 36 mm) fills 88 % of the frame along its longer side: 36/0.88 mm per 32 px.
    inside = (a[3] > 0).any(axis=0)
    assert abs(int(inside.sum()) - round(32 * 0.88)) <= 2  # ± the bilinear edge


def test_volume_slices_refuses_4d(tmp_path):
    from brainvq.scale_inputs import SliceOptions, volume_slices

    _save(tmp_path / "f.nii", np.ones((8, 8, 8, 3), np.float32), np.eye(4))
    with pytest.raises(ValueError, match="3 volumes"):
        volume_slices(str(tmp_path / "f.nii"), SliceOptions(size=16))
