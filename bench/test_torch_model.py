"""Tests of the PyTorch twin of brainvq's model (bench/torch_vqvae.py).

Run with the benchmark's environment: `bench/setup.sh && bench/.venv/bin/python -m pytest bench`.

The references are independent of torch: the parameter table is parsed from docs/model.md and listed by the
Go code (core/model, through bench/listparams); the forward pass and the losses are recomputed with a naive
float64 NumPy implementation of the documented ops.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

import torch_vqvae as tv

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "model.md"


# ----------------------------------------------------------------------------------------------------------
# References.


def doc_param_shapes(preset: str) -> dict[str, tuple[int, ...]]:
    """Parameter name → shape read from docs/model.md's preset table (weights as listed; each conv/deconv's
    bias is [Cout]: the weight's dim 0 for a Conv, dim 1 for a ConvTranspose)."""
    text = DOC.read_text()
    start = text.index("## Presets")
    seed_at = text.index("`seed` (", start)
    end = text.index("## ", seed_at)
    section = text[start:seed_at] if preset == "residual" else text[seed_at:end]
    shapes: dict[str, tuple[int, ...]] = {}
    kinds: dict[str, str] = {}
    indices = ["0"]
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        m = re.fullmatch(r"`([^`]+)`(?:, i=([\d,]+))?", cells[0])
        assert m, f"unparsed row {line!r}"
        name, idx = m.group(1), m.group(2)
        if idx:
            indices = idx.split(",")
        shape = tuple(int(d) for d in re.findall(r"\d+", cells[2]))
        kind = "deconv" if "ConvTranspose" in cells[1] else "conv"
        names = [name.replace("{i}", i) for i in indices] if "{i}" in name else [name]
        for n in names:
            if n.endswith("/conv2"):  # "dec.res{i}.conv1/conv2: as in the encoder"
                assert not shape, line
                base = n[: -len(".conv1/conv2")]
                twin = "enc" + base[len("dec") :]
                for c in ("conv1", "conv2"):
                    shapes[f"{base}.{c}"] = shapes[f"{twin}.{c}"]
                    kinds[f"{base}.{c}"] = "conv"
                continue
            assert shape, f"row without a shape: {line!r}"
            shapes[n] = shape
            kinds[n] = kind
    out = {}
    for n, shape in shapes.items():
        if n == "vq.codebook":
            out[n] = shape
            continue
        out[n + ".weight"] = shape
        out[n + ".bias"] = (shape[1] if kinds[n] == "deconv" else shape[0],)
    return out


def go_param_shapes(preset: str) -> dict[str, tuple[int, ...]]:
    """The Go model's parameter table (core/model.Config.ParamShapes) via `go run ./bench/listparams`."""
    go = shutil.which("go")
    assert go, "the Go toolchain is needed: the test compares against core/model"
    out = subprocess.run(
        [go, "run", "./bench/listparams", "-preset", preset],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    return {k: tuple(v) for k, v in json.loads(out).items()}


def ref_conv(x, w, b, stride, pad):
    """Naive Conv2d: x [N,C,H,W], w [O,C,K,K] → [N,O,Ho,Wo], Ho = (H+2p−K)/s+1, float64."""
    k = w.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho = (x.shape[2] + 2 * pad - k) // stride + 1
    wo = (x.shape[3] + 2 * pad - k) // stride + 1
    out = np.zeros((x.shape[0], w.shape[0], ho, wo))
    for i in range(k):
        for j in range(k):
            patch = xp[:, :, i : i + stride * ho : stride, j : j + stride * wo : stride]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return out + b[None, :, None, None]


def ref_deconv(x, w, b, stride, pad):
    """Naive ConvTranspose2d by scattering: each input pixel adds x·w[ci,co] into the (H−1)s+K full output,
    which is then cropped by pad on each side. x [N,Ci,H,W], w [Ci,Co,K,K]."""
    n, _, h, wd = x.shape
    k = w.shape[2]
    full = np.zeros((n, w.shape[1], (h - 1) * stride + k, (wd - 1) * stride + k))
    for i in range(k):
        for j in range(k):
            contrib = np.einsum("nchw,co->nohw", x, w[:, :, i, j])
            full[
                :, :, i : i + stride * (h - 1) + 1 : stride, j : j + stride * (wd - 1) + 1 : stride
            ] += contrib
    hh, ww = full.shape[2] - 2 * pad, full.shape[3] - 2 * pad
    return full[:, :, pad : pad + hh, pad : pad + ww] + b[None, :, None, None]


def ref_stages(x, stages, p):
    relu = lambda a: np.maximum(a, 0)  # noqa: E731
    for st in stages:
        if st == tv.RELU:
            x = relu(x)
        elif isinstance(st, tv.ResSpec):
            c1, c2 = st.conv1, st.conv2
            h = ref_conv(relu(x), p[c1.name + ".weight"], p[c1.name + ".bias"], c1.stride, c1.pad)
            x = x + ref_conv(
                relu(h), p[c2.name + ".weight"], p[c2.name + ".bias"], c2.stride, c2.pad
            )
        else:
            f = ref_deconv if st.kind == "deconv" else ref_conv
            x = f(x, p[st.name + ".weight"], p[st.name + ".bias"], st.stride, st.pad)
            if st.relu:
                x = relu(x)
    return x


def random_weights(spec: tv.ModelSpec, rng, u: np.ndarray) -> dict[str, np.ndarray]:
    """Float32 weights of the documented shapes, scaled so activations stay O(1), and a codebook made of
    perturbed encoder outputs of u (reference encoder), so that many codes are near some z_e."""
    w = {}
    for name, shape in spec.param_shapes().items():
        fan = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        w[name] = (rng.standard_normal(shape) / np.sqrt(fan)).astype(np.float32)
    p = {k: a.astype(np.float64) for k, a in w.items()}
    z = (
        ref_stages(u.astype(np.float64), spec.encoder, p)
        .transpose(0, 2, 3, 1)
        .reshape(-1, spec.code_dim)
    )
    rows = z[rng.integers(0, len(z), spec.num_codes)]
    noise = rng.standard_normal(rows.shape) * z.std() * 0.3
    w["vq.codebook"] = (rows + noise).astype(np.float32)
    return w


def small_input(rng, n=2, size=32):
    pixels = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
    mean, var = tv.preprocess_constants(pixels)
    return pixels, tv.to_model_input(pixels, mean), mean, var


# ----------------------------------------------------------------------------------------------------------
# Tests.


@pytest.mark.parametrize("preset", tv.PRESETS)
def test_param_table_matches_doc_go_and_torch(preset):
    doc = doc_param_shapes(preset)
    go = go_param_shapes(preset)
    spec = tv.model_spec(preset).param_shapes()
    torch_shapes = {n: tuple(p.shape) for n, p in tv.build_model(preset).named_parameters()}
    assert spec == doc
    assert go == doc
    assert torch_shapes == doc


def test_doc_table_has_the_expected_size():
    # Guards the parser: the residual table expands to 8 encoder and 7 decoder layers (a weight and a bias
    # each) plus the codebook; the seed table to 6 layers plus the codebook.
    assert len(doc_param_shapes("residual")) == 31
    assert len(doc_param_shapes("seed")) == 13


@pytest.mark.parametrize("preset", tv.PRESETS)
def test_forward_matches_numpy_reference(preset, tmp_path):
    rng = np.random.default_rng(7)
    spec = tv.model_spec(preset)
    _, u, _, _ = small_input(rng)
    w = random_weights(spec, rng, u)
    wdir = tmp_path / "w"
    wdir.mkdir()
    for name, a in w.items():
        np.save(wdir / f"{name}.npy", a)
    model = tv.build_model(preset, seed=3)
    tv.load_brainvq_weights(model, wdir)

    with torch.no_grad():
        v, z_e, z_q, idx = model(torch.from_numpy(u))
    p = {k: a.astype(np.float64) for k, a in w.items()}
    ref_ze = ref_stages(u.astype(np.float64), spec.encoder, p)
    np.testing.assert_allclose(z_e.numpy(), ref_ze, rtol=1e-4, atol=1e-4)

    # The chosen code is the nearest one (float64 distances, a float32 near-tie aside).
    e = p["vq.codebook"]
    z = ref_ze.transpose(0, 2, 3, 1).reshape(-1, spec.code_dim)
    dist = ((z[:, None, :] - e[None, :, :]) ** 2).sum(-1)
    chosen = dist[np.arange(len(z)), idx.numpy().reshape(-1)]
    np.testing.assert_allclose(chosen, dist.min(1), rtol=1e-5, atol=1e-5)
    agree = (idx.numpy().reshape(-1) == dist.argmin(1)).mean()
    assert agree > 0.95, agree
    assert len(np.unique(idx.numpy())) > 10  # the test exercises many codes

    ref_zq = e[idx.numpy()].transpose(0, 3, 1, 2)
    np.testing.assert_allclose(z_q.numpy(), ref_zq, rtol=1e-6, atol=1e-6)
    ref_v = ref_stages(ref_zq, spec.decoder, p)
    assert v.shape == u.shape
    np.testing.assert_allclose(v.numpy(), ref_v, rtol=1e-4, atol=1e-4)


def test_quantizer_ties_go_to_the_lowest_index():
    model = tv.build_model("seed")
    with torch.no_grad():
        cb = torch.full((128, 16), 5.0)
        cb[9] = 0.25
        cb[4] = 0.25  # same as 9: the lower index must win
        model.vq.codebook.copy_(cb)
        z_e = torch.full((1, 16, 2, 2), 0.2)
        _, idx = model.vq(z_e)
    assert idx.flatten().tolist() == [4, 4, 4, 4]


def test_losses_match_reference_and_stop_gradients():
    rng = np.random.default_rng(11)
    spec = tv.model_spec("seed")
    model = tv.build_model("seed", seed=5)
    _, u, _, var = small_input(rng)
    x = torch.from_numpy(u)
    total, recon, codebook, commit = model.losses(x, var, beta=0.25)
    v, z_e, z_q, _ = model(x)
    v, z_e, z_q = (t.detach().numpy().astype(np.float64) for t in (v, z_e, z_q))
    assert recon.item() == pytest.approx(((v - u) ** 2).mean() / var, rel=1e-5)
    assert codebook.item() == pytest.approx(((z_q - z_e) ** 2).mean(), rel=1e-5)
    assert commit.item() == pytest.approx(0.25 * ((z_e - z_q) ** 2).mean(), rel=1e-5)
    assert total.item() == pytest.approx(recon.item() + codebook.item() + commit.item(), rel=1e-6)

    def grads(loss):
        """|∂loss/∂θ| summed over an encoder weight, a decoder weight and the codebook (no graph path: 0)."""
        model.zero_grad(set_to_none=True)
        loss.backward(retain_graph=True)
        params = (model.enc.conv1.weight, model.dec.deconv3.weight, model.vq.codebook)
        return tuple(0.0 if p.grad is None else p.grad.abs().sum().item() for p in params)

    # Reconstruction: straight-through to the encoder, nothing to the codebook.
    enc, dec, cb = grads(recon)
    assert enc > 0 and dec > 0 and cb == 0
    # Codebook loss moves only the codebook; commitment only the encoder.
    enc, dec, cb = grads(codebook)
    assert enc == 0 and dec == 0 and cb > 0
    enc, dec, cb = grads(commit)
    assert enc > 0 and dec == 0 and cb == 0
    assert spec.code_dim == model.vq.codebook.shape[1]


@pytest.mark.parametrize("preset", tv.PRESETS)
def test_full_size_forward_and_one_adam_step(preset):
    pixels = tv.make_data(2, 256, seed=2)
    mean, var = tv.preprocess_constants(pixels)
    x = torch.from_numpy(tv.to_model_input(pixels, mean))
    model = tv.build_model(preset)
    v, z_e, z_q, idx = model(x)
    assert v.shape == (2, 1, 256, 256)
    assert z_e.shape == z_q.shape == (2, tv.model_spec(preset).code_dim, 64, 64)
    assert idx.shape == (2, 64, 64)
    before = model.enc.conv1.weight.detach().clone()
    opt = torch.optim.Adam(model.parameters(), lr=tv.LEARNING_RATE)
    total, *_ = model.losses(x, var)
    assert torch.isfinite(total)
    total.backward()
    opt.step()
    # Adam's first step moves every weight with a non-zero gradient by about lr.
    delta = (model.enc.conv1.weight.detach() - before).abs()
    assert delta.max().item() == pytest.approx(tv.LEARNING_RATE, rel=0.01)


def test_weights_round_trip_and_errors(tmp_path):
    a, b = tv.build_model("seed", seed=1), tv.build_model("seed", seed=2)
    tv.save_weights(a, tmp_path / "w")
    tv.load_brainvq_weights(b, tmp_path / "w")
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb and torch.equal(pa, pb)

    arrays = {n: p.detach().numpy() for n, p in a.named_parameters()}
    np.savez(tmp_path / "w.npz", **arrays)
    c = tv.build_model("seed", seed=3)
    tv.load_brainvq_weights(c, tmp_path / "w.npz")
    assert torch.equal(c.vq.codebook, a.vq.codebook)

    bad = dict(arrays)
    bad["vq.codebook"] = np.zeros((128, 15), np.float32)
    np.savez(tmp_path / "bad.npz", **bad)
    with pytest.raises(ValueError, match="vq.codebook has shape"):
        tv.load_brainvq_weights(c, tmp_path / "bad.npz")
    del bad["vq.codebook"]
    np.savez(tmp_path / "missing.npz", **bad)
    with pytest.raises(ValueError, match="missing parameters"):
        tv.load_brainvq_weights(c, tmp_path / "missing.npz")


def test_data_file_round_trip(tmp_path):
    pixels = tv.make_data(3, 32, seed=4)
    assert pixels.dtype == np.uint8 and pixels.shape == (3, 32, 32)
    assert 0 < (pixels > 0).mean() < 1
    tv.write_data(tmp_path / "d.u8", pixels)
    assert (tmp_path / "d.u8").stat().st_size == 3 * 32 * 32
    np.testing.assert_array_equal(tv.read_data(tmp_path / "d.u8", 32), pixels)
    with pytest.raises(ValueError, match="not a whole number"):
        tv.read_data(tmp_path / "d.u8", 30)
    mean, var = tv.preprocess_constants(pixels)
    x = pixels.astype(np.float64) / 255
    assert mean == pytest.approx(x.mean()) and var == pytest.approx(((x - x.mean()) ** 2).mean())


@pytest.mark.parametrize("preset", tv.PRESETS)
def test_go_weights_and_onnx_export_agree_with_torch(preset, tmp_path):
    """brainvq's own weights (bench/mkmodel) exported by `brainvq export` and run in onnxruntime give the same
    reconstruction and codes as the PyTorch twin loaded with the same weights."""
    go = shutil.which("go")
    assert go, "the Go toolchain is needed: the test runs bench/mkmodel and brainvq export"
    data = tmp_path / "d.u8"
    tv.write_data(data, tv.make_data(3, 256, seed=5))
    mdir = tmp_path / "m"
    run = dict(cwd=REPO, check=True, capture_output=True, text=True, timeout=600)
    subprocess.run(
        [go, "run", "./bench/mkmodel", "-preset", preset, "-data", data, "-out", mdir], **run
    )
    ck, onnx_dir = mdir / "checkpoint.bvq", mdir / "onnx"
    subprocess.run(
        [go, "run", "./cmd/brainvq", "export", "--checkpoint", ck, "--out", onnx_dir], **run
    )

    pre = json.loads((mdir / "preprocess.json").read_text())
    pixels = tv.read_data(data)
    mean, var = tv.preprocess_constants(pixels)
    assert pre["mean"] == pytest.approx(mean, rel=1e-6)
    assert pre["variance"] == pytest.approx(var, rel=1e-5)
    r = tv.compare_onnx(str(onnx_dir / "vqvae.onnx"), mdir / "weights", pre["mean"], preset, pixels)
    # Codes may differ only at float32 near-ties, and rarely; decoding the same codes gives the same image.
    assert r["index_agreement"] > 0.999, r
    assert r["max_tie_gap"] < 1e-5, r
    assert r["max_abs_diff_same_codes"] < 1e-4, r
    assert r["mean_abs_diff"] < 1e-4, r
