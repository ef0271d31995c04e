"""What :mod:`brainvq.scale` reads: a cohort's files listed as blocks, and each block read as slices.

A cohort is any mix of

* PNG slices in folders (the OASIS layout ``keras_png_slices_data/keras_png_slices_{split}/*.png`` or
  any folder of ``.png`` files); segmentation-mask folders and files are skipped, never read;
* NIfTI-1 volumes (``.nii``, ``.nii.gz``), each cut into axial slices by :func:`volume_slices`.

The unit of work is a *block*: up to ``block_size`` PNG files of one folder, or one volume. A block's id
is a hash of what it reads (paths, sizes, modification times) and how (the slicing settings), so listing
the same cohort again gives the same blocks; :mod:`brainvq.scale` names its output part files after
them, which is what makes a job resumable.

Every slice gets a ``subject``, a ``volume`` and a ``slice`` index:

* an OASIS-style PNG ``case_441_slice_20.nii.png``: volume and subject ``case_441``, slice 20; another
  PNG name: volume the file stem, subject its folder's name, slice the last number in the stem (else 0);
* a volume ``…/sub-07/anat/sub-07_T1w.nii.gz``: volume ``sub-07_T1w``, subject the first ``sub-*``
  folder or name part (BIDS), else an OASIS id ``OAS1_0001`` in the name, else the volume name; slice
  the axial voxel plane index z (RAS+, 0 the lowest plane).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Block",
    "SliceBatch",
    "SliceOptions",
    "list_blocks",
    "read_block",
    "read_png_block",
    "volume_slices",
    "png_identity",
    "volume_identity",
]

#: File name endings read as NIfTI volumes.
NIFTI_SUFFIXES = (".nii", ".nii.gz")

_OASIS_PNG = re.compile(r"^(?P<vol>.+?)_slice_(?P<k>\d+)(?:\.nii)?\.png$", re.IGNORECASE)
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")
_OASIS_ID = re.compile(r"(OAS\d_\d{4})", re.IGNORECASE)
_SPLIT_DIR = re.compile(r"^keras_png_slices_(train|validate|test)$")


@dataclass(frozen=True)
class SliceOptions:
    """How volumes become slices (the geometry of ``brainvq data make``, without its augmentation).

    Attributes:
        size: the image side S (the model's).
        contrast: grey = ``white_level``·(v/r)^contrast, r the head's 95th percentile; 1 for a whole-head
            T1 scan, about 1.8 for the MNI template (as ``brainvq data make`` uses).
        white_level: the grey of r (0.45 puts white matter near 110/255, as in OASIS).
        min_brain: the fraction of an axial plane that must be tissue (> 0.1·r) for it to be a slice.
        step: take every ``step``-th usable plane (1: all of them).
    """

    size: int
    contrast: float = 1.0
    white_level: float = 0.45
    min_brain: float = 0.05
    step: int = 1

    def key(self) -> str:
        """The settings as text, part of every volume block's id."""
        return json.dumps(
            [self.size, self.contrast, self.white_level, self.min_brain, self.step], sort_keys=True
        )


@dataclass(frozen=True)
class Block:
    """One unit of work: ``kind`` ``"png"`` (``paths``: files of one folder) or ``"nifti"`` (one path)."""

    id: str
    kind: str
    paths: Tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "kind": self.kind, "paths": list(self.paths)})

    @staticmethod
    def from_json(text: str) -> "Block":
        d = json.loads(text)
        return Block(str(d["id"]), str(d["kind"]), tuple(str(p) for p in d["paths"]))


@dataclass
class SliceBatch:
    """What one block read gives: images ``[N, S, S]`` (uint8 or float32 in [0, 1]), one metadata
    dict per image (``source``, ``subject``, ``volume``, ``slice``, ``split``), and the inputs that
    failed as ``(path, reason)``."""

    images: Optional[NDArray[Any]]
    meta: List[Dict[str, object]]
    errors: List[Tuple[str, str]] = field(default_factory=list)


# -- listing ----------------------------------------------------------------------------------------


def _natural_key(name: str) -> Tuple[List[Tuple[int, int, str]], str]:
    """Order names with digit runs compared by value (``slice_9`` before ``slice_10``), as the Go
    loader does."""
    parts = re.split(r"(\d+)", name)
    return [(0, int(p), p) if p.isdigit() else (1, 0, p) for p in parts], name


def _is_seg(name: str) -> bool:
    """A segmentation-mask folder or file name (``keras_png_slices_seg_*``, ``seg_*``, a ``seg`` word)."""
    low = name.lower()
    if low.startswith("keras_png_slices_seg_") or low.startswith("seg_"):
        return True
    return "seg" in re.split(r"[_\-. ]", low)


def _is_nifti(name: str) -> bool:
    return name.lower().endswith(NIFTI_SUFFIXES)


def _walk(inputs: Sequence[str]) -> Tuple[Dict[str, List[str]], List[str], List[Tuple[str, str]]]:
    """PNG files grouped by folder, NIfTI files, and inputs that do not exist / are not images."""
    pngs: Dict[str, List[str]] = {}
    niftis: List[str] = []
    bad: List[Tuple[str, str]] = []
    seen = set()

    def add_file(p: Path) -> None:
        rp = os.path.abspath(p)
        if rp in seen:
            return
        seen.add(rp)
        name = p.name
        if name.lower().endswith(".png"):
            if _is_seg(name) or _is_seg(p.parent.name):
                return
            pngs.setdefault(os.path.dirname(rp), []).append(rp)
        elif _is_nifti(name):
            niftis.append(rp)

    for item in inputs:
        p = Path(item).expanduser()
        if p.is_dir():
            for folder, dirs, files in os.walk(p, followlinks=True):
                dirs[:] = sorted(d for d in dirs if not _is_seg(d) and not d.startswith("."))
                for f in files:
                    if not f.startswith("."):
                        add_file(Path(folder) / f)
        elif p.is_file():
            if not (p.name.lower().endswith(".png") or _is_nifti(p.name)):
                bad.append((os.path.abspath(p), "not a .png, .nii or .nii.gz file"))
            else:
                add_file(p)
        else:
            bad.append((os.path.abspath(p), "no such file or folder"))
    return pngs, niftis, bad


def _fingerprint(paths: Iterable[str]) -> List[object]:
    out: List[object] = []
    for p in paths:
        try:
            st = os.stat(p)
            out.append([p, st.st_size, st.st_mtime_ns])
        except OSError as exc:
            out.append([p, "unreadable: %s" % exc.strerror])
    return out


def _block_id(kind: str, paths: Sequence[str], settings: str) -> str:
    text = json.dumps([kind, _fingerprint(paths), settings])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def list_blocks(
    inputs: Sequence[str], block_size: int, slicing: SliceOptions
) -> Tuple[List[Block], List[Tuple[str, str]]]:
    """List a cohort as blocks, in a fixed order (folders and files sorted naturally).

    Args:
        inputs: files and folders (folders are searched recursively; hidden and segmentation folders
            are skipped).
        block_size: PNG files per block, at least 1.
        slicing: how volumes are cut (part of their blocks' ids).

    Returns:
        ``(blocks, bad)``: the blocks, and ``(path, reason)`` for inputs that are missing or of a kind
        that is not read.
    """
    if block_size < 1:
        raise ValueError("block_size must be at least 1, got %d" % block_size)
    pngs, niftis, bad = _walk(inputs)
    blocks: List[Block] = []
    size_key = json.dumps(slicing.size)
    for folder in sorted(pngs, key=_natural_key):
        files = sorted(pngs[folder], key=lambda f: _natural_key(os.path.basename(f)))
        for lo in range(0, len(files), block_size):
            chunk = tuple(files[lo : lo + block_size])
            blocks.append(Block(_block_id("png", chunk, size_key), "png", chunk))
    for path in sorted(niftis, key=_natural_key):
        blocks.append(Block(_block_id("nifti", [path], slicing.key()), "nifti", (path,)))
    return blocks, bad


# -- naming -----------------------------------------------------------------------------------------


def png_identity(path: str) -> Dict[str, object]:
    """``source``, ``subject``, ``volume``, ``slice`` and ``split`` of a PNG slice (see the module)."""
    p = Path(path)
    m = _OASIS_PNG.match(p.name)
    split_m = _SPLIT_DIR.match(p.parent.name)
    split = split_m.group(1) if split_m else ""
    if m:
        vol = m.group("vol")
        return {
            "source": path,
            "subject": vol,
            "volume": vol,
            "slice": int(m.group("k")),
            "split": split,
        }
    stem = p.name[: -len(".png")] if p.name.lower().endswith(".png") else p.stem
    n = _LAST_NUMBER.search(stem)
    return {
        "source": path,
        "subject": p.parent.name,
        "volume": stem,
        "slice": int(n.group(1)) if n else 0,
        "split": split,
    }


def volume_identity(path: str) -> Tuple[str, str]:
    """``(subject, volume)`` of a NIfTI file (see the module)."""
    p = Path(path)
    name = p.name
    for suf in (".nii.gz", ".nii"):
        if name.lower().endswith(suf):
            name = name[: -len(suf)]
            break
    for part in list(p.parent.parts) + [name]:
        if part.startswith("sub-"):
            return part.split("_")[0], name
    m = _OASIS_ID.search(name)
    if m:
        return m.group(1), name
    return name, name


# -- reading PNG blocks (through the Go loader) -------------------------------------------------------


def read_png_block(paths: Sequence[str], size: int) -> SliceBatch:
    """Read PNG slices with brainvq's own loader (:meth:`brainvq.Dataset.from_folder`), so pixels,
    format rules (16-bit, colour, palette) and error messages are those of training and evaluation.

    The files are linked into a private folder and loaded together; if that fails, each file is loaded
    alone so that only the bad ones (unreadable, truncated, not ``size``×``size``) become errors.

    Returns:
        A :class:`SliceBatch` of float32 images in the order of ``paths`` (failed files left out).
    """
    from brainvq.data import Dataset  # the Go loader; imported here so listing needs no extension

    def load(files: Sequence[str]) -> NDArray[Any]:
        tmp = tempfile.mkdtemp(prefix="brainvq-scale-")
        try:
            for i, f in enumerate(files):
                os.symlink(f, os.path.join(tmp, "f%07d.png" % i))
            with Dataset.from_folder(tmp, size=size) as ds:
                order = [int(os.path.basename(f)[1:8]) for f in ds.files]
                imgs = ds.images
            out = np.empty_like(imgs)
            out[order] = imgs
            return out
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def reason(exc: Exception, path: str) -> str:
        # Go's message names the private link and the folder argument; name the real file instead.
        msg = re.sub(r"\S*brainvq-scale-[^/\s]*/f\d{7}\.png", lambda _: path, str(exc))
        return re.sub(r"^\[brainvq:\w+\] \w+: ", "", msg)

    files = list(paths)
    if not files:
        return SliceBatch(None, [])
    try:
        images = load(files)
        return SliceBatch(images, [png_identity(f) for f in files])
    except Exception:  # noqa: BLE001 (which file failed, and why, is found below)
        pass
    good, imgs, errors = [], [], []
    for f in files:
        try:
            imgs.append(load([f])[0])
            good.append(f)
        except Exception as exc:  # noqa: BLE001 (GoError and its kinds, OSError: this file's error)
            errors.append((f, reason(exc, f)))
    stacked = np.stack(imgs) if imgs else None
    return SliceBatch(stacked, [png_identity(f) for f in good], errors)


# -- NIfTI volumes --------------------------------------------------------------------------------------


def _load_ras(path: str) -> Tuple[NDArray[Any], Tuple[float, float, float]]:
    """A NIfTI volume as float64 ``[x, y, z]`` in RAS+ voxel order (nibabel's closest canonical
    orientation: each voxel axis goes to its nearest world axis, flipped to run towards R, A, S, as the
    Go reader does) and its voxel spacing in mm. NaN and ±Inf voxels become 0."""
    import nibabel as nib  # type: ignore[import-not-found, import-untyped, unused-ignore]

    img: Any = nib.load(path)  # the ``ray`` extra installs nibabel
    shape = img.shape
    if len(shape) > 3 and int(np.prod(shape[3:])) > 1:
        raise ValueError(
            "%d-D image with %d volumes (shape %s); one 3-D volume is needed: extract one first"
            % (len(shape), int(np.prod(shape[3:])), shape)
        )
    img = nib.as_closest_canonical(img)  # type: ignore[no-untyped-call, unused-ignore]
    data = np.asarray(img.get_fdata(dtype=np.float64))
    data = data.reshape(data.shape[:3]) if data.ndim > 3 else data
    if data.ndim != 3:
        raise ValueError("a 3-D volume is needed, got shape %s" % (data.shape,))
    data[~np.isfinite(data)] = 0
    zooms = tuple(float(z) if z > 0 else 1.0 for z in img.header.get_zooms()[:3])
    return data, zooms  # type: ignore[return-value]


def _reference_level(v: NDArray[Any]) -> float:
    """The bright-tissue reference r: the 95th percentile (4096-bin histogram) of the voxels above 2 %
    of the maximum, as ``brainvq data make`` computes it."""
    vmax = float(v.max())
    if not vmax > 0:
        raise ValueError("the volume has no positive voxel")
    bins = 4096
    sel = v[v > 0.02 * vmax]
    idx = np.minimum(bins - 1, (sel / vmax * bins).astype(np.int64))
    hist = np.bincount(idx, minlength=bins)
    need = int(0.95 * sel.size)
    b = int(np.searchsorted(np.cumsum(hist), need))
    return (b + 0.5) / bins * vmax


def _bilinear(plane: NDArray[Any], x: NDArray[Any], y: NDArray[Any]) -> NDArray[Any]:
    """Sample ``plane`` ``[nx, ny]`` at continuous voxel coordinates (centres at integers); outside
    counts as 0."""
    nx, ny = plane.shape
    pad = np.zeros((nx + 2, ny + 2), dtype=np.float64)
    pad[1:-1, 1:-1] = plane
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    i = np.clip(x0.astype(np.int64) + 1, 0, nx + 1)
    j = np.clip(y0.astype(np.int64) + 1, 0, ny + 1)
    i1, j1 = np.clip(i + 1, 0, nx + 1), np.clip(j + 1, 0, ny + 1)
    out: NDArray[Any] = (
        pad[i, j] * (1 - fx) * (1 - fy)
        + pad[i1, j] * fx * (1 - fy)
        + pad[i, j1] * (1 - fx) * fy
        + pad[i1, j1] * fx * fy
    )
    outside = (x0 < -1) | (y0 < -1) | (x0 >= nx) | (y0 >= ny)
    out[outside] = 0
    return out


def volume_slices(path: str, opt: SliceOptions) -> Tuple[NDArray[Any], List[int]]:
    """Cut a NIfTI volume into axial slices the way ``brainvq data make`` frames its images.

    The volume is put in RAS+ order; a voxel v becomes grey ``min(1, white_level·(v/r)^contrast)``
    (r: :func:`_reference_level`); the usable planes are those with at least ``min_brain`` of their
    voxels above 0.1·r. Every usable plane z (every ``step``-th) becomes one S×S image with square pixels:
    rows run along x (the subject's right at the bottom), columns along y (front on the right), centred
    on the head, whose longer side fills 88 % of the frame; bilinear in-plane sampling, grey ≤ 0.004 is
    air (0), and values are rounded to 8 bits as a PNG slice would hold them. Unlike ``data make`` there
    is no warp, bias, noise or synthetic scalp: these are the subject's own slices.

    Returns:
        ``(images, planes)``: uint8 ``[N, S, S]`` and the plane index z of each image.

    Raises:
        ValueError / OSError / nibabel errors: an unreadable, truncated or unusable volume.
    """
    v, sp = _load_ras(path)
    ref = _reference_level(v)
    grey = np.minimum(1.0, opt.white_level * np.maximum(0.0, v / ref) ** max(opt.contrast, 1e-9))
    inside = v > 0.1 * ref
    nx, ny, nz = v.shape
    frac = inside.reshape(nx * ny, nz).mean(axis=0)
    usable = np.nonzero(frac >= opt.min_brain)[0]
    if usable.size < 3:
        raise ValueError(
            "the volume has fewer than 3 axial planes with ≥%.0f%% tissue" % (100 * opt.min_brain)
        )
    lo, hi = int(usable[0]), int(usable[-1])
    head = inside[:, :, lo : hi + 1].any(axis=2)
    xs, ys = np.nonzero(head.any(axis=1))[0], np.nonzero(head.any(axis=0))[0]
    centre = ((xs[0] + xs[-1]) / 2 * sp[0], (ys[0] + ys[-1]) / 2 * sp[1])
    fov = max((xs[-1] - xs[0] + 1) * sp[0], (ys[-1] - ys[0] + 1) * sp[1]) / 0.88
    s = opt.size
    q = (np.arange(s) + 0.5 - s / 2) * fov / s
    src_x = np.broadcast_to(((centre[0] + q) / sp[0])[:, None], (s, s))
    src_y = np.broadcast_to(((centre[1] + q) / sp[1])[None, :], (s, s))
    planes = list(range(lo, hi + 1, max(1, opt.step)))
    out = np.empty((len(planes), s, s), dtype=np.uint8)
    for n, z in enumerate(planes):
        t = _bilinear(grey[:, :, z], src_x, src_y)
        t[t <= 0.004] = 0
        out[n] = np.round(255 * np.clip(t, 0, 1)).astype(np.uint8)
    return out, planes


def read_block(block: Block, slicing: SliceOptions) -> SliceBatch:
    """Read one block: its PNG files (:func:`read_png_block`) or its volume (:func:`volume_slices`)."""
    if block.kind == "png":
        return read_png_block(block.paths, slicing.size)
    if block.kind != "nifti":
        raise ValueError("unknown block kind %r" % block.kind)
    path = block.paths[0]
    try:
        images, planes = volume_slices(path, slicing)
    except (
        Exception
    ) as exc:  # nibabel raises many types for broken files; each is this volume's error
        return SliceBatch(None, [], [(path, "%s: %s" % (type(exc).__name__, exc))])
    subject, volume = volume_identity(path)
    meta = [
        {"source": path, "subject": subject, "volume": volume, "slice": z, "split": ""}
        for z in planes
    ]
    return SliceBatch(images, meta)
