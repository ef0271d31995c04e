"""TensorFlow/Keras twin of brainvq's VQ-VAE (docs/model.md) and the TensorFlow side of the benchmark.

The same architecture as torch_vqvae.py and core/model (presets `residual` and `seed`, the same parameter
names and counts), laid out the way TensorFlow runs fastest on a CPU: NHWC activations, Keras Conv2D /
Conv2DTranspose layers, whose convolutions TensorFlow's CPU build hands to oneDNN. The same preprocessing
(u = p/255 − μ), losses (mean((v−u)²)/σ² + codebook loss + β·commitment loss, straight-through gradient) and
Adam with lr 2e-4. One training step (forward, losses, gradient, Adam update) and one inference batch are
each one tf.function; config "xla" compiles them with XLA (jit_compile=True), "graph" does not.

Command line (every measurement prints one JSON object on stdout, the contract of bench/README.md):

    python tf_vqvae.py train --preset P --data FILE [--batch 16] [--threads 2] [--warmup 2] [--steps 5]
                             [--config graph|xla]
    python tf_vqvae.py infer --preset P --data FILE [...the same as train]
    python tf_vqvae.py params --preset P     # parameter names and shapes in brainvq's layout, as JSON

Kernel layouts: a Keras Conv2D kernel is [K,K,Cin,Cout] (brainvq: [Cout,Cin,K,K]); a Conv2DTranspose kernel
is [K,K,Cout,Cin] (brainvq: [Cin,Cout,K,K]). `brainvq_shapes` converts, so that the tests can compare the
parameter table with core/model's (bench/listparams).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

os.environ.setdefault(
    "TF_CPP_MIN_LOG_LEVEL", "2"
)  # before TensorFlow loads: no INFO/WARNING banners

import numpy as np  # noqa: E402

import torch_vqvae as tv  # noqa: E402  (spec, data, results; it never imports torch at module level)

TF_CONFIGS = ("graph", "xla")


def _tf():
    import tensorflow as tf

    return tf


def keras_name(name: str) -> str:
    """Keras layer name for a brainvq parameter prefix ("enc.res0.conv1" → "enc_res0_conv1")."""
    return name.replace(".", "_")


def build_model(preset: str, seed: int = 0):
    """A Keras model for the preset, weights created (built on a small input), initialised like
    core/model.InitWeights: weights uniform in ±1/sqrt(fan_in), zero biases, codebook uniform in ±1/K.
    Calling it on u [N,S,S,1] returns (v [N,S,S,1], z_e, z_q, indices [N,h,w]) with the straight-through
    decoder input z_e + sg(z_q − z_e)."""
    tf = _tf()
    import keras

    spec = tv.model_spec(preset)
    init_seed = [seed]

    def uniform(bound):
        init_seed[0] += 1
        return keras.initializers.RandomUniform(-bound, bound, seed=init_seed[0])

    def make_layer(l: tv.LayerSpec):
        fan_in = (l.cout if l.kind == "deconv" else l.cin) * l.kernel * l.kernel
        cls = keras.layers.Conv2DTranspose if l.kind == "deconv" else keras.layers.Conv2D
        # padding "same" reproduces PyTorch's: k4 s2 p1 halves (conv) or doubles (deconv) the side,
        # k3 s1 p1 and k1 s1 p0 keep it.
        return cls(
            l.cout,
            l.kernel,
            strides=l.stride,
            padding="same",
            kernel_initializer=uniform(fan_in**-0.5),
            bias_initializer="zeros",
            name=keras_name(l.name),
        )

    class VQVAE(keras.Model):
        def __init__(self):
            super().__init__(name=f"vqvae_{preset}")
            self.spec = spec
            self.convs = {l.name: make_layer(l) for l in spec.layers()}  # Keras tracks the dict
            k = spec.num_codes
            self.codebook = self.add_weight(
                shape=(k, spec.code_dim), initializer=uniform(1.0 / k), name="vq_codebook"
            )

        def run_stages(self, stages, x):
            for st in stages:
                if st == tv.RELU:
                    x = tf.nn.relu(x)
                elif isinstance(st, tv.ResSpec):
                    h = self.convs[st.conv1.name](tf.nn.relu(x))
                    x = x + self.convs[st.conv2.name](tf.nn.relu(h))
                else:
                    x = self.convs[st.name](x)
                    if st.relu:
                        x = tf.nn.relu(x)
            return x

        def nearest_code(self, z_e):
            """Nearest code: k* = argmin_k ‖z‖² − 2 z·E_k + ‖E_k‖²; z_e [N,h,w,D] → (z_q, indices)."""
            shape = tf.shape(z_e)
            z = tf.reshape(z_e, [-1, spec.code_dim])
            e = self.codebook
            dist = (
                tf.reduce_sum(z * z, 1, keepdims=True)
                - 2.0 * tf.matmul(z, e, transpose_b=True)
                + tf.reduce_sum(e * e, 1)[None, :]
            )
            idx = tf.argmin(dist, axis=1, output_type=tf.int32)
            z_q = tf.reshape(tf.gather(e, idx), shape)
            return z_q, tf.reshape(idx, shape[:3])

        def call(self, u):
            z_e = self.run_stages(spec.encoder, u)
            z_q, idx = self.nearest_code(z_e)
            v = self.run_stages(spec.decoder, z_e + tf.stop_gradient(z_q - z_e))
            return v, z_e, z_q, idx

    model = VQVAE()
    model(
        tf.zeros([1, 16, 16, 1])
    )  # creates every weight (the convolutions do not depend on the side)
    return model


def brainvq_shapes(model) -> dict[str, tuple[int, ...]]:
    """The model's parameters by brainvq name with brainvq's shapes (kernels transposed, see the module
    docstring)."""
    out = {"vq.codebook": tuple(model.codebook.shape)}
    for l in model.spec.layers():
        layer = model.convs[l.name]
        k = tuple(layer.kernel.shape)  # [K,K,a,b]
        out[l.name + ".weight"] = (k[3], k[2], k[0], k[1])
        out[l.name + ".bias"] = tuple(layer.bias.shape)
    return out


def set_brainvq_weights(model, arrays: dict[str, np.ndarray]) -> None:
    """Copies parameters given by brainvq name in brainvq's layout (what torch_vqvae.save_weights and
    bench/mkmodel write) into the model: conv [Cout,Cin,K,K] and deconv [Cin,Cout,K,K] weights both become
    Keras kernels by the transpose (2,3,1,0). Every parameter must be given with its shape."""
    want = brainvq_shapes(model)
    missing, extra = sorted(set(want) - set(arrays)), sorted(set(arrays) - set(want))
    if missing or extra:
        raise ValueError(f"set weights: missing parameters {missing}, unexpected {extra}")
    for name, shape in want.items():
        if tuple(arrays[name].shape) != shape:
            raise ValueError(f"set weights: {name} has shape {arrays[name].shape}, want {shape}")
    model.codebook.assign(np.asarray(arrays["vq.codebook"], np.float32))
    for l in model.spec.layers():
        layer = model.convs[l.name]
        layer.kernel.assign(
            np.asarray(arrays[l.name + ".weight"], np.float32).transpose(2, 3, 1, 0)
        )
        layer.bias.assign(np.asarray(arrays[l.name + ".bias"], np.float32))


def losses(model, u, variance: float, beta: float = tv.BETA):
    """(total, recon, codebook, commitment), the formulas of torch_vqvae's VQVAE.losses."""
    tf = _tf()
    v, z_e, z_q, _ = model(u)
    recon = tf.reduce_mean(tf.square(v - u)) / variance
    codebook = tf.reduce_mean(tf.square(z_q - tf.stop_gradient(z_e)))
    commit = beta * tf.reduce_mean(tf.square(z_e - tf.stop_gradient(z_q)))
    return recon + codebook + commit, recon, codebook, commit


def onednn_isa() -> str:
    """The ISA oneDNN dispatches to in a TensorFlow process with this environment: a child Python runs one
    convolution with ONEDNN_VERBOSE=1 and the "isa:" field of oneDNN's info line is returned ("" when
    oneDNN printed none, e.g. with TF_ENABLE_ONEDNN_OPTS=0)."""
    code = (
        "import tensorflow as tf; "
        "tf.nn.conv2d(tf.ones([1, 8, 8, 8]), tf.ones([3, 3, 8, 8]), 1, 'SAME').numpy()"
    )
    env = dict(os.environ, ONEDNN_VERBOSE="1", TF_CPP_MIN_LOG_LEVEL="2")
    try:
        r = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    m = re.search(r"isa:([^,\n]+)", r.stdout + r.stderr)
    return m.group(1).strip() if m else ""


def tf_isa(config: str) -> str:
    """What decides the instruction set: oneDNN's dispatch for the convolutions (capped by
    ONEDNN_MAX_CPU_ISA) and, under XLA, XLA's CPU code generator (capped by --xla_cpu_max_isa in XLA_FLAGS,
    otherwise the host's)."""
    isa = onednn_isa()
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA")
    parts = [f"oneDNN {isa or '?'}" + (f" (≤ {cap})" if cap else "")]
    if config == "xla":
        m = re.search(r"--xla_cpu_max_isa=(\S+)", os.environ.get("XLA_FLAGS", ""))
        parts.append(f"XLA CPU ≤ {m.group(1)}" if m else "XLA CPU host ISA")
    return "; ".join(parts)


def bench_tf(
    mode: str,
    preset: str,
    pixels: np.ndarray,
    batch: int,
    threads: int,
    warmup: int,
    steps: int,
    config: str = "graph",
):
    """Times `steps` training steps (mode "train") or inference batches (mode "infer", encode + quantise +
    decode) after `warmup` untimed ones; img_per_s = batch / median step time. Each is one tf.function
    (config "xla": jit_compile=True); one extra untimed call traces (and compiles) first, its seconds are
    `compile_s`. TensorFlow gets `threads` intra-op threads and one inter-op thread. A failing step gives a
    result with img_per_s null and `error` set."""
    if config not in TF_CONFIGS:
        raise ValueError(f"--config {config!r}: want one of {', '.join(TF_CONFIGS)}")
    tf = _tf()
    import keras

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    mean, var = tv.preprocess_constants(pixels)
    u = np.ascontiguousarray(tv.to_model_input(pixels, mean).transpose(0, 2, 3, 1))  # NHWC
    baseline = tv.peak_rss_mib()
    model = build_model(preset)
    jit = config == "xla"
    if mode == "train":
        opt = keras.optimizers.Adam(learning_rate=tv.LEARNING_RATE)
        opt.build(model.trainable_variables)

        @tf.function(jit_compile=jit)
        def step(x):
            with tf.GradientTape() as tape:
                total = losses(model, x, var)[0]
            grads = tape.gradient(total, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
            return total

    elif mode == "infer":

        @tf.function(jit_compile=jit)
        def step(x):
            v, _, _, idx = model(x)
            return v, idx

    else:
        raise ValueError(f"unknown mode {mode!r}")
    batches = tv._batches(u, batch)
    times, cpu_times, loss_values = [], [], []
    extra = {"config": config}
    try:
        t0 = time.perf_counter()
        _ = [np.asarray(t) for t in tf.nest.flatten(step(tf.constant(next(batches))))]
        extra["compile_s"] = round(time.perf_counter() - t0, 2)
        for i in range(warmup + steps):
            x = tf.constant(next(batches))
            c0, t0 = time.process_time(), time.perf_counter()
            out = [t.numpy() for t in tf.nest.flatten(step(x))]  # .numpy() waits for the result
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            if mode == "train":
                loss_values.append(float(out[0]))
            if i >= warmup:
                times.append(dt)
                cpu_times.append(dc)
    except Exception as e:  # noqa: BLE001 - a failing configuration is a result, not a crash
        msg = f"{type(e).__name__}: {e}".strip().splitlines()
        extra["error"] = " ".join(msg[:3])[:400]
        print(f"tf_vqvae.py: {config} {mode} failed:", *msg[:30], sep="\n", file=sys.stderr)
    if loss_values:
        extra.update(loss_first=loss_values[0], loss_last=loss_values[-1])
    result = tv._result(
        "tensorflow",
        preset,
        mode,
        batch,
        threads,
        warmup,
        times,
        baseline,
        f"tensorflow {tf.__version__}, keras {keras.__version__}",
        cpu_times,
        **extra,
    )
    # After the peak was read: the ISA probe runs in a child process (its memory is not ours anyway).
    result["isa"] = tf_isa(config)
    result["cpu"] = tv.cpu_model()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("train", "infer"):
        p = sub.add_parser(name, help=f"measure {name}")
        p.add_argument("--preset", choices=tv.PRESETS, required=True)
        p.add_argument(
            "--data", required=True, help="raw uint8 [N,S,S] file (torch_vqvae make-data)"
        )
        p.add_argument("--size", type=int, default=256)
        p.add_argument("--batch", type=int, default=16)
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--warmup", type=int, default=2)
        p.add_argument("--steps", type=int, default=5)
        p.add_argument("--config", choices=TF_CONFIGS, default="graph")
    p = sub.add_parser("params", help="print parameter names and brainvq-layout shapes as JSON")
    p.add_argument("--preset", choices=tv.PRESETS, required=True)
    a = ap.parse_args(argv)
    if a.cmd == "params":
        shapes = brainvq_shapes(build_model(a.preset))
        print(json.dumps({k: list(v) for k, v in sorted(shapes.items())}))
        return 0
    pixels = tv.read_data(a.data, a.size)
    r = bench_tf(a.cmd, a.preset, pixels, a.batch, a.threads, a.warmup, a.steps, config=a.config)
    print(json.dumps(r), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
