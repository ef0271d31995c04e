"""PyTorch twin of brainvq's VQ-VAE (docs/model.md) and the PyTorch / onnxruntime side of the benchmark.

The model here has the same parameter names and shapes as the Go model (`enc.conv1.weight`, ...,
`vq.codebook`), the same preprocessing (u = p/255 − μ), the same losses (mean((v−u)²)/σ² + codebook loss +
β·commitment loss, straight-through gradient to the encoder) and is trained by Adam with lr 2e-4.

Command line (every measurement prints one JSON object on stdout; see bench/README.md for the fields):

    python torch_vqvae.py make-data --out FILE [--count 64] [--size 256] [--seed 1]
    python torch_vqvae.py train  --preset P --data FILE [--batch 16] [--threads 2] [--warmup 2] [--steps 5]
                                 [--config eager|channels_last|compile|channels_last_compile]
    python torch_vqvae.py infer  --preset P --data FILE [...the same as train]
    python torch_vqvae.py onnx   --model vqvae.onnx --preset P --data FILE [--batch 16] [--threads 2] ...
                                 [--quantizer exact|float32]
    python torch_vqvae.py compare-onnx --model vqvae.onnx --weights DIR --preprocess JSON --preset P --data FILE
    python torch_vqvae.py params --preset P                    # names and shapes, as JSON
    python torch_vqvae.py forward --preset P --weights DIR --data FILE --out DIR [--batch 4]

Each measurement is meant to run in a fresh process (bench/run.sh does that), so that the process's peak
resident set size (ru_maxrss) belongs to that measurement alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PRESETS = ("residual", "seed")
LEARNING_RATE = 2e-4
BETA = 0.25


# ----------------------------------------------------------------------------------------------------------
# The architecture, as plain data (mirrors core/model/config.go and docs/model.md).


@dataclass(frozen=True)
class LayerSpec:
    """One Conv2d ("conv") or ConvTranspose2d ("deconv") with bias, optionally followed by a ReLU."""

    name: str  # parameter prefix, e.g. "enc.conv1"
    kind: str  # "conv" or "deconv"
    cin: int
    cout: int
    kernel: int
    stride: int
    pad: int
    relu: bool = False

    def weight_shape(self) -> tuple[int, ...]:
        """[Cout, Cin, K, K] for a convolution, [Cin, Cout, K, K] for a transposed convolution."""
        if self.kind == "deconv":
            return (self.cin, self.cout, self.kernel, self.kernel)
        return (self.cout, self.cin, self.kernel, self.kernel)


@dataclass(frozen=True)
class ResSpec:
    """A residual block y = x + conv2(relu(conv1(relu(x)))), conv1 k3 Hd→R, conv2 k1 R→Hd."""

    name: str
    conv1: LayerSpec
    conv2: LayerSpec


RELU = "relu"  # a bare ReLU stage (after a residual stack)


@dataclass(frozen=True)
class ModelSpec:
    """A preset's hyper-parameters and its encoder / decoder stages."""

    preset: str
    hidden: int
    res_hidden: int
    num_res: int
    num_codes: int  # K
    code_dim: int  # D
    encoder: tuple
    decoder: tuple

    def layers(self) -> list[LayerSpec]:
        """Every LayerSpec of the encoder then the decoder, residual-block convs included, in order."""
        out = []
        for st in self.encoder + self.decoder:
            if isinstance(st, LayerSpec):
                out.append(st)
            elif isinstance(st, ResSpec):
                out += [st.conv1, st.conv2]
        return out

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Parameter name → shape, exactly as docs/model.md lists them."""
        shapes = {"vq.codebook": (self.num_codes, self.code_dim)}
        for l in self.layers():
            shapes[l.name + ".weight"] = l.weight_shape()
            shapes[l.name + ".bias"] = (l.cout,)
        return shapes


def _res_stack(prefix: str, hidden: int, res_hidden: int, num_res: int) -> list:
    stages: list = []
    for i in range(num_res):
        n = f"{prefix}.res{i}"
        stages.append(
            ResSpec(
                n,
                LayerSpec(n + ".conv1", "conv", hidden, res_hidden, 3, 1, 1),
                LayerSpec(n + ".conv2", "conv", res_hidden, hidden, 1, 1, 0),
            )
        )
    if num_res > 0:
        stages.append(RELU)
    return stages


def model_spec(preset: str) -> ModelSpec:
    """The preset's architecture (docs/model.md)."""
    if preset == "residual":
        h, r, nres, k, d = 128, 32, 2, 512, 64
        enc = [
            LayerSpec("enc.conv1", "conv", 1, h // 2, 4, 2, 1, relu=True),
            LayerSpec("enc.conv2", "conv", h // 2, h, 4, 2, 1, relu=True),
            LayerSpec("enc.conv3", "conv", h, h, 3, 1, 1),
            *_res_stack("enc", h, r, nres),
            LayerSpec("enc.pre_vq", "conv", h, d, 1, 1, 0),
        ]
        dec = [
            LayerSpec("dec.conv1", "conv", d, h, 3, 1, 1),
            *_res_stack("dec", h, r, nres),
            LayerSpec("dec.deconv1", "deconv", h, h // 2, 4, 2, 1, relu=True),
            LayerSpec("dec.deconv2", "deconv", h // 2, 1, 4, 2, 1),
        ]
        return ModelSpec(preset, h, r, nres, k, d, tuple(enc), tuple(dec))
    if preset == "seed":
        h, k, d = 64, 128, 16
        enc = [
            LayerSpec("enc.conv1", "conv", 1, 32, 4, 2, 1, relu=True),
            LayerSpec("enc.conv2", "conv", 32, h, 4, 2, 1, relu=True),
            LayerSpec("enc.pre_vq", "conv", h, d, 1, 1, 0),
        ]
        dec = [
            LayerSpec("dec.deconv1", "deconv", d, h, 4, 2, 1, relu=True),
            LayerSpec("dec.deconv2", "deconv", h, 32, 4, 2, 1, relu=True),
            LayerSpec("dec.deconv3", "deconv", 32, 1, 3, 1, 1),
        ]
        return ModelSpec(preset, h, 0, 0, k, d, tuple(enc), tuple(dec))
    raise ValueError(f"unknown preset {preset!r} (choose one of {', '.join(PRESETS)})")


# ----------------------------------------------------------------------------------------------------------
# Synthetic data: one raw file that both frameworks read.


def make_data(count: int, size: int = 256, seed: int = 1) -> np.ndarray:
    """Synthetic OASIS-like slices, uint8 [count, size, size]: a dark background, a bright elliptical scalp
    ring, mid-grey tissue with smooth blobs and noise. Only the values' spread matters for the benchmark.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    out = np.empty((count, size, size), np.uint8)
    for n in range(count):
        cy, cx = rng.uniform(-0.04, 0.04, 2)
        ry, rx = rng.uniform(0.30, 0.36), rng.uniform(0.38, 0.45)
        r = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
        img = np.where(r < 1.0, 60.0, 0.0) + np.where((r > 0.9) & (r < 1.0), 150.0, 0.0)
        for _ in range(6):
            by, bx = rng.uniform(-0.25, 0.25, 2)
            s = rng.uniform(0.03, 0.1)
            img += (
                (r < 0.9) * rng.uniform(20, 60) * np.exp(-((yy - by) ** 2 + (xx - bx) ** 2) / s**2)
            )
        img += (r < 1.0) * rng.normal(0, 8, img.shape)
        out[n] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def write_data(path: str | os.PathLike, pixels: np.ndarray) -> None:
    """Writes uint8 [N,S,S] as raw row-major bytes, no header (atomically: temp file + rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(np.ascontiguousarray(pixels, np.uint8).tobytes())
    os.replace(tmp, path)


def read_data(path: str | os.PathLike, size: int = 256) -> np.ndarray:
    """Reads a raw uint8 file written by write_data as [N, size, size]."""
    raw = np.fromfile(path, np.uint8)
    if raw.size == 0 or raw.size % (size * size):
        raise ValueError(
            f"read {path}: {raw.size} bytes is not a whole number of {size}x{size} images"
        )
    return raw.reshape(-1, size, size)


def preprocess_constants(pixels: np.ndarray) -> tuple[float, float]:
    """(μ, σ²): mean and population variance of x = p/255 over every pixel, computed in float64."""
    x = pixels.astype(np.float64) / 255.0
    return float(x.mean()), float(x.var())


def to_model_input(pixels: np.ndarray, mean: float) -> np.ndarray:
    """uint8 [N,S,S] → u = p/255 − μ, float32 [N,1,S,S]."""
    return (pixels.astype(np.float32) / np.float32(255.0) - np.float32(mean))[:, None, :, :]


# ----------------------------------------------------------------------------------------------------------
# The PyTorch model. Imported lazily so that `make-data` and the spec work without torch.


def _torch():
    import torch

    return torch


def build_model(preset: str, seed: int = 0):
    """A VQVAE torch.nn.Module for the preset, initialised like core/model.InitWeights (uniform
    weights with bound 1/sqrt(fan_in), zero biases, codebook uniform in ±1/K), from torch's RNG."""
    torch = _torch()
    nn = torch.nn
    F = torch.nn.functional

    def make_layer(l: LayerSpec):
        cls = nn.ConvTranspose2d if l.kind == "deconv" else nn.Conv2d
        return cls(l.cin, l.cout, l.kernel, stride=l.stride, padding=l.pad)

    class ResBlock(nn.Module):
        """y = x + conv2(relu(conv1(relu(x))))."""

        def __init__(self, spec: ResSpec):
            super().__init__()
            self.conv1 = make_layer(spec.conv1)
            self.conv2 = make_layer(spec.conv2)

        def forward(self, x):
            return x + self.conv2(F.relu(self.conv1(F.relu(x))))

    class Coder(nn.Module):
        """An encoder or decoder: its stages run in order; submodule names match docs/model.md."""

        def __init__(self, stages):
            super().__init__()
            self.order: list[tuple[str | None, bool]] = (
                []
            )  # (submodule name or None for a bare ReLU, relu)
            for st in stages:
                if st == RELU:
                    self.order.append((None, True))
                    continue
                short = st.name.split(".", 1)[1]
                if isinstance(st, ResSpec):
                    self.add_module(short, ResBlock(st))
                    self.order.append((short, False))
                else:
                    self.add_module(short, make_layer(st))
                    self.order.append((short, st.relu))

        def forward(self, x):
            for name, relu in self.order:
                if name is not None:
                    x = getattr(self, name)(x)
                if relu:
                    x = F.relu(x)
            return x

    class Quantizer(nn.Module):
        """Nearest-code quantiser: k* = argmin_k ‖z‖² − 2 z·E_k + ‖E_k‖² (ties: lowest k)."""

        def __init__(self, num_codes: int, code_dim: int):
            super().__init__()
            self.codebook = nn.Parameter(torch.empty(num_codes, code_dim))

        def forward(self, z_e):
            """z_e [N,D,h,w] → (z_q [N,D,h,w] taken from the codebook, indices [N,h,w] int64)."""
            n, d, h, w = z_e.shape
            z = z_e.permute(0, 2, 3, 1).reshape(-1, d)
            e = self.codebook
            dist = (z * z).sum(1, keepdim=True) - 2.0 * (z @ e.t()) + (e * e).sum(1)[None, :]
            idx = torch.argmin(dist, dim=1)  # first minimum on ties
            z_q = e[idx].reshape(n, h, w, d).permute(0, 3, 1, 2)
            return z_q, idx.reshape(n, h, w)

    class VQVAE(nn.Module):
        """Encoder → quantiser → decoder on u = p/255 − μ, returning v in the same shifted space."""

        def __init__(self, spec: ModelSpec):
            super().__init__()
            self.spec = spec
            self.enc = Coder(spec.encoder)
            self.vq = Quantizer(spec.num_codes, spec.code_dim)
            self.dec = Coder(spec.decoder)

        def forward(self, u):
            """u [N,1,S,S] → (v [N,1,S,S], z_e, z_q, indices). The decoder reads z_e + sg(z_q − z_e)."""
            z_e = self.enc(u)
            z_q, idx = self.vq(z_e)
            v = self.dec(z_e + (z_q - z_e).detach())
            return v, z_e, z_q, idx

        def losses(self, u, variance: float, beta: float = BETA):
            """(total, recon, codebook, commitment): recon = mean((v−u)²)/σ²,
            codebook = mean((z_q − sg(z_e))²), commitment = β·mean((z_e − sg(z_q))²)."""
            v, z_e, z_q, _ = self(u)
            recon = ((v - u) ** 2).mean() / variance
            codebook = ((z_q - z_e.detach()) ** 2).mean()
            commit = beta * ((z_e - z_q.detach()) ** 2).mean()
            return recon + codebook + commit, recon, codebook, commit

    spec = model_spec(preset)
    model = VQVAE(spec)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for l in spec.layers():
            fan_in = (l.cout if l.kind == "deconv" else l.cin) * l.kernel * l.kernel
            bound = fan_in**-0.5
            mod = model.get_submodule(l.name)
            mod.weight.uniform_(-bound, bound, generator=gen)
            mod.bias.zero_()
        model.vq.codebook.uniform_(-1.0 / spec.num_codes, 1.0 / spec.num_codes, generator=gen)
    return model


def load_brainvq_weights(model, path: str | os.PathLike) -> None:
    """Copies brainvq weights into the model. path is either a directory holding one NumPy file per
    parameter, named `<parameter name>.npy` (e.g. `enc.conv1.weight.npy`), or a `.npz` archive with the
    parameter names as keys. Every parameter must be present, float32-convertible and of the documented
    shape; an extra or missing name is an error."""
    torch = _torch()
    path = Path(path)
    if path.is_dir():
        arrays = {f.name[: -len(".npy")]: np.load(f) for f in sorted(path.glob("*.npy"))}
    else:
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
    params = dict(model.named_parameters())
    missing = sorted(set(params) - set(arrays))
    extra = sorted(set(arrays) - set(params))
    if missing or extra:
        raise ValueError(f"load {path}: missing parameters {missing}, unexpected {extra}")
    with torch.no_grad():
        for name, p in params.items():
            a = arrays[name]
            if tuple(a.shape) != tuple(p.shape):
                raise ValueError(f"load {path}: {name} has shape {a.shape}, want {tuple(p.shape)}")
            p.copy_(torch.from_numpy(np.ascontiguousarray(a, np.float32)))


def save_weights(model, directory: str | os.PathLike) -> None:
    """Writes every parameter as `<directory>/<name>.npy` (float32), the format load_brainvq_weights reads."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, p in model.named_parameters():
        tmp = directory / (name + ".npy.tmp")
        with open(tmp, "wb") as f:
            np.save(f, p.detach().cpu().numpy().astype(np.float32))
        os.replace(tmp, directory / (name + ".npy"))


# ----------------------------------------------------------------------------------------------------------
# Measurements.


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (ru_maxrss, KiB on Linux) in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _batches(u: np.ndarray, batch: int):
    """Endless cycle of [batch,1,S,S] slices of u (wrapping around)."""
    n = u.shape[0]
    i = 0
    while True:
        idx = [(i + j) % n for j in range(batch)]
        yield np.ascontiguousarray(u[idx])
        i = (i + batch) % n


def _result(
    system, preset, mode, batch, threads, warmup, times, baseline, version, cpu_times, **extra
) -> dict:
    med = statistics.median(times) if times else None
    out = {
        "system": system,
        "preset": preset,
        "mode": mode,
        "img_per_s": batch / med if med else None,
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "baseline_rss_mib": round(baseline, 1),
        "batch": batch,
        "threads": threads,
        "steps": len(times),
        "warmup": warmup,
        "step_s": [round(t, 4) for t in times],
        "step_cpu_s": [round(t, 4) for t in cpu_times],
        "version": version,
    }
    out.update(extra)
    return out


TORCH_CONFIGS = ("eager", "channels_last", "compile", "channels_last_compile")


def torch_isa() -> str:
    """The ISA PyTorch's ATen kernels dispatch to (torch.backends.cpu.get_cpu_capability(): "AVX512",
    "AVX2", "DEFAULT", ...; ATEN_CPU_CAPABILITY lowers it), with oneDNN's cap when ONEDNN_MAX_CPU_ISA is set
    (oneDNN runs the convolutions)."""
    torch = _torch()
    isa = torch.backends.cpu.get_cpu_capability()
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    if cap:
        isa += f", oneDNN ≤ {cap}"
    if simd := inductor_simdlen():
        isa += f", inductor vectors {simd}-bit"
    return isa


def inductor_simdlen() -> int | None:
    """The vector width torch.compile's generated code is held to (BENCH_INDUCTOR_SIMDLEN, bits; bench/run.sh
    sets 256 when a compile configuration crashed with the default), or None for inductor's own choice.
    """
    v = os.environ.get("BENCH_INDUCTOR_SIMDLEN", "")
    if not v:
        return None
    if not v.isdigit() or int(v) not in (128, 256, 512):
        raise SystemExit(f"BENCH_INDUCTOR_SIMDLEN={v!r}: want 128, 256 or 512")
    return int(v)


def cpu_model() -> str:
    """The CPU as /proc/cpuinfo names it: "model name (family F, model M)"; "unknown" where unreadable."""
    fields = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            k, _, v = line.partition(":")
            k = k.strip()
            if k in ("model name", "cpu family", "model") and k not in fields:
                fields[k] = v.strip()
            if not line.strip() and fields:
                break
    except OSError:
        return "unknown"
    name = fields.get("model name", "unknown")
    return f"{name} (family {fields.get('cpu family', '?')}, model {fields.get('model', '?')})"


def bench_torch(
    mode: str,
    preset: str,
    pixels: np.ndarray,
    batch: int,
    threads: int,
    warmup: int,
    steps: int,
    config: str = "eager",
):
    """Times `steps` training steps (mode "train": forward, losses, backward, Adam) or inference batches
    (mode "infer": encode + quantise + decode under torch.inference_mode) after `warmup` untimed ones;
    img_per_s = batch / median step time. baseline_rss_mib is the peak RSS after import and data loading,
    before the model is built.

    config: "eager" (NCHW, eager mode), "channels_last" (model and input in torch.channels_last, NHWC in
    memory), "compile" (torch.compile of the loss / forward, inductor), "channels_last_compile" (both).
    With torch.compile, one extra untimed step compiles first (its seconds are `compile_s`), so that the
    compilation is neither timed nor counted as a warm-up step. If the step fails (e.g. inductor cannot find
    a C++ compiler), the result has img_per_s null and `error` set instead of raising."""
    if config not in TORCH_CONFIGS:
        raise ValueError(f"--config {config!r}: want one of {', '.join(TORCH_CONFIGS)}")
    torch = _torch()
    torch.set_num_threads(threads)
    mean, var = preprocess_constants(pixels)
    u = to_model_input(pixels, mean)
    baseline = peak_rss_mib()
    model = build_model(preset)
    last = config.startswith("channels_last")
    compiled = config.endswith("compile")
    if compiled and (simd := inductor_simdlen()):
        import torch._inductor.config as inductor_config

        inductor_config.cpp.simdlen = simd
    if last:
        model = model.to(memory_format=torch.channels_last)

    def to_input(a):
        x = torch.from_numpy(a)
        return x.contiguous(memory_format=torch.channels_last) if last else x

    batches = _batches(u, batch)
    times, cpu_times = [], []
    extra = {"config": config, "isa": torch_isa(), "cpu": cpu_model()}
    if mode == "train":
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)

        def loss_of(x):
            return model.losses(x, var)[0]

        loss_fn = torch.compile(loss_of) if compiled else loss_of

        def step(x):
            opt.zero_grad(set_to_none=True)
            total = loss_fn(x)
            total.backward()
            opt.step()
            return total

    elif mode == "infer":
        model.eval()
        fwd = torch.compile(model) if compiled else model

        def step(x):
            with torch.inference_mode():
                return fwd(x)[0]

    else:
        raise ValueError(f"unknown mode {mode!r}")
    losses = []
    try:
        if compiled:
            t0 = time.perf_counter()
            step(to_input(next(batches)))
            extra["compile_s"] = round(time.perf_counter() - t0, 2)
        for i in range(warmup + steps):
            x = to_input(next(batches))
            c0, t0 = time.process_time(), time.perf_counter()
            out = step(x)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            if mode == "train":
                losses.append(out.item())
            if i >= warmup:
                times.append(dt)
                cpu_times.append(dc)
    except Exception as e:  # noqa: BLE001 - a failing configuration is a result, not a crash
        msg = f"{type(e).__name__}: {e}".strip().splitlines()
        extra["error"] = " ".join(msg[:3])[:400]
        print(f"torch_vqvae.py: {config} {mode} failed:", *msg[:30], sep="\n", file=sys.stderr)
    if losses:
        extra.update(loss_first=losses[0], loss_last=losses[-1])
    return _result(
        "pytorch",
        preset,
        mode,
        batch,
        threads,
        warmup,
        times,
        baseline,
        f"torch {torch.__version__}",
        cpu_times,
        **extra,
    )


def onnx_feeds(session, pixels_batch: np.ndarray) -> dict:
    """The input of brainvq's vqvae.onnx: `image`, raw pixels x = p/255 as float32 [N,1,S,S] (the graph
    subtracts μ itself, see onnxexport)."""
    inputs = session.get_inputs()
    if len(inputs) != 1 or inputs[0].type != "tensor(float)" or len(inputs[0].shape) != 4:
        got = [(i.name, i.type, i.shape) for i in inputs]
        raise ValueError(f"expected one float32 [N,1,S,S] image input, the model has {got}")
    x = pixels_batch[:, None].astype(np.float32) / np.float32(255.0)
    return {inputs[0].name: x}


def onnx_session(model_path: str, threads: int):
    """A CPU onnxruntime session with intra_op_num_threads = threads, one inter-op thread, sequential
    execution and all graph optimisations."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])


def cpu_best_isa() -> str:
    """The widest x86 vector extension /proc/cpuinfo lists: "AVX512" (avx512f), "AVX2", or "SSE"."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    flags = next(
        (l.split(":", 1)[1].split() for l in text.splitlines() if l.startswith("flags")), []
    )
    return "AVX512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "SSE"


def bench_onnx(
    model_path: str,
    preset: str,
    pixels: np.ndarray,
    batch,
    threads,
    warmup,
    steps,
    quantizer: str = "exact",
):
    """Times onnxruntime inference of model_path (vqvae.onnx: image → reconstruction, indices) after
    `warmup` untimed batches; torch is not imported, so the peak RSS is onnxruntime's own. quantizer only
    labels the result: the export's quantiser arithmetic (`brainvq export --quantizer exact|float32`).
    onnxruntime's MLAS kernels pick their ISA at run time from the CPU; no environment variable caps it, so
    the result's isa is "MLAS auto" with the widest extension the CPU has."""
    import onnxruntime as ort

    baseline = peak_rss_mib()
    sess = onnx_session(model_path, threads)
    batches = _batches(pixels, batch)
    times, cpu_times = [], []
    for step in range(warmup + steps):
        feeds = onnx_feeds(sess, next(batches))
        c0, t0 = time.process_time(), time.perf_counter()
        sess.run(None, feeds)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if step >= warmup:
            times.append(dt)
            cpu_times.append(dc)
    version = f"onnxruntime {ort.__version__}"
    return _result(
        "onnxruntime",
        preset,
        "infer",
        batch,
        threads,
        warmup,
        times,
        baseline,
        version,
        cpu_times,
        model=model_path,
        config=f"quantizer {quantizer}",
        isa=f"MLAS auto (CPU: {cpu_best_isa()})",
        cpu=cpu_model(),
    )


def compare_onnx(
    model_path: str, weights: str, mean: float, preset: str, pixels: np.ndarray
) -> dict:
    """Runs the same images through vqvae.onnx (onnxruntime) and through the PyTorch twin loaded with the
    same brainvq weights (x̂ = clip(v + μ, 0, 1)). Returns:
    - index_agreement: the fraction of latent positions whose code index agrees;
    - max_abs_diff / mean_abs_diff: |x̂_onnx − x̂_torch| over all pixels (a code that differs, at a float32
      near-tie, changes its 4×4 patch and beyond);
    - max_abs_diff_same_codes: the largest |x̂_onnx − x̂| where the twin decodes onnxruntime's own indices,
      i.e. the decoders compared on equal input;
    - max_tie_gap: over the positions whose codes differ, the largest |d(k_onnx) − d(k_torch)| / d(k_torch),
      d the float64 squared distance from the twin's z_e (0 when all agree)."""
    torch = _torch()
    sess = onnx_session(model_path, 1)
    outs = sess.run(None, onnx_feeds(sess, pixels))
    names = [o.name for o in sess.get_outputs()]
    rec_onnx = outs[names.index("reconstruction")]
    idx_onnx = outs[names.index("indices")]
    model = build_model(preset)
    load_brainvq_weights(model, weights)
    with torch.inference_mode():
        v, z_e, _, idx = model(torch.from_numpy(to_model_input(pixels, mean)))
        e = model.vq.codebook
        z_q = e[torch.from_numpy(idx_onnx.astype(np.int64))].permute(0, 3, 1, 2)
        v_same = model.dec(z_q)
    clip = lambda a: np.clip(a + np.float32(mean), 0.0, 1.0)  # noqa: E731
    rec_torch, rec_same = clip(v.numpy()), clip(v_same.numpy())
    idx = idx.numpy()
    differ = idx != idx_onnx
    gap = 0.0
    if differ.any():
        z = z_e.numpy().astype(np.float64).transpose(0, 2, 3, 1)[differ]  # [M, D]
        cb = e.detach().numpy().astype(np.float64)
        d_t = ((z - cb[idx[differ]]) ** 2).sum(1)
        d_o = ((z - cb[idx_onnx[differ]]) ** 2).sum(1)
        gap = float((np.abs(d_o - d_t) / np.maximum(d_t, 1e-30)).max())
    return {
        "system": "check",
        "preset": preset,
        "mode": "onnx-vs-pytorch",
        "images": int(pixels.shape[0]),
        "index_agreement": float((~differ).mean()),
        "max_abs_diff": float(np.abs(rec_onnx - rec_torch).max()),
        "mean_abs_diff": float(np.abs(rec_onnx - rec_torch).mean()),
        "max_abs_diff_same_codes": float(np.abs(rec_onnx - rec_same).max()),
        "max_tie_gap": gap,
    }


# ----------------------------------------------------------------------------------------------------------
# Command line.


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("make-data", help="write synthetic uint8 slices as a raw file")
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=64)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--seed", type=int, default=1)

    for name in ("train", "infer", "onnx"):
        p = sub.add_parser(name, help=f"measure {name}")
        p.add_argument("--preset", choices=PRESETS, required=True)
        p.add_argument("--data", required=True, help="raw uint8 [N,S,S] file from make-data")
        p.add_argument("--size", type=int, default=256)
        p.add_argument("--batch", type=int, default=16)
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--warmup", type=int, default=2)
        p.add_argument("--steps", type=int, default=5)
        if name == "onnx":
            p.add_argument("--model", required=True, help="vqvae.onnx")
            p.add_argument(
                "--quantizer",
                choices=("exact", "float32"),
                default="exact",
                help="the export's quantiser (a label: brainvq export --quantizer chose it)",
            )
        else:
            p.add_argument("--config", choices=TORCH_CONFIGS, default="eager")

    p = sub.add_parser(
        "compare-onnx", help="vqvae.onnx (onnxruntime) vs PyTorch on the same weights"
    )
    p.add_argument("--preset", choices=PRESETS, required=True)
    p.add_argument("--model", required=True, help="vqvae.onnx")
    p.add_argument("--weights", required=True, help="directory of <name>.npy or a .npz")
    p.add_argument(
        "--preprocess", required=True, help='JSON {"mean": μ, ...} (bench/mkmodel writes it)'
    )
    p.add_argument("--data", required=True)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--images", type=int, default=4)

    p = sub.add_parser("params", help="print parameter names and shapes as JSON")
    p.add_argument("--preset", choices=PRESETS, required=True)

    p = sub.add_parser(
        "forward", help="run brainvq weights in PyTorch; write v and indices as .npy"
    )
    p.add_argument("--preset", choices=PRESETS, required=True)
    p.add_argument("--weights", required=True, help="directory of <name>.npy or a .npz")
    p.add_argument("--data", required=True)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--mean", type=float, help="μ (default: from the data)")
    p.add_argument("--out", required=True)

    a = ap.parse_args(argv)
    if a.cmd == "make-data":
        write_data(a.out, make_data(a.count, a.size, a.seed))
        return 0
    if a.cmd == "params":
        print(
            json.dumps({k: list(v) for k, v in sorted(model_spec(a.preset).param_shapes().items())})
        )
        return 0
    pixels = read_data(a.data, a.size)
    if a.cmd in ("train", "infer"):
        r = bench_torch(
            a.cmd, a.preset, pixels, a.batch, a.threads, a.warmup, a.steps, config=a.config
        )
    elif a.cmd == "onnx":
        r = bench_onnx(
            a.model, a.preset, pixels, a.batch, a.threads, a.warmup, a.steps, quantizer=a.quantizer
        )
    elif a.cmd == "compare-onnx":
        mean = json.loads(Path(a.preprocess).read_text())["mean"]
        r = compare_onnx(a.model, a.weights, mean, a.preset, pixels[: a.images])
    else:  # forward
        torch = _torch()
        model = build_model(a.preset)
        load_brainvq_weights(model, a.weights)
        mean = a.mean if a.mean is not None else preprocess_constants(pixels)[0]
        with torch.inference_mode():
            v, z_e, _, idx = model(torch.from_numpy(to_model_input(pixels[: a.batch], mean)))
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / "v.npy", v.numpy())
        np.save(out / "z_e.npy", z_e.numpy())
        np.save(out / "indices.npy", idx.numpy())
        return 0
    print(json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
