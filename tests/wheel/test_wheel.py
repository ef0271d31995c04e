"""Checks of the installed brainvq wheel: packaging, the bytes path, errors, panics, handles.

Run with tests/wheel/run.sh, which builds the wheel, installs it into a fresh venv and runs
pytest from a temporary folder outside the repository.
"""

from __future__ import annotations

import gc
import importlib.metadata
import multiprocessing
import os
import re
import signal
import struct
import subprocess
import sys
import sysconfig
import time
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import rss_bytes


def test_installed_not_source(brainvq, repo):
    pkg_dir = Path(brainvq.__file__).resolve().parent
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    assert pkg_dir.parent == site, "brainvq at %s, not in this venv's site-packages %s" % (
        pkg_dir,
        site,
    )
    ext = pkg_dir / "_ext" / ("_brainvq" + sysconfig.get_config_var("EXT_SUFFIX"))
    assert ext.is_file()
    # The generated wrappers came with the wheel; the source tree has none of them.
    assert (pkg_dir / "_ext" / "pybind.py").is_file()
    assert not (repo / "python" / "brainvq" / "_ext" / ext.name).exists()


def test_wheel_is_platform_tagged(brainvq):
    dist = importlib.metadata.distribution("brainvq")
    wheel_meta = dist.read_text("WHEEL")
    tags = re.findall(r"^Tag: (\S+)$", wheel_meta, re.M)
    assert tags, wheel_meta
    impl = "cp%d%d" % sys.version_info[:2]
    for tag in tags:
        py, abi, plat = tag.split("-")
        assert (py, abi) == (impl, impl), tag
        assert plat.startswith("linux_") or "manylinux" in plat, tag
    assert dist.read_text("WHEEL").count("Root-Is-Purelib: false") == 1


def test_version_matches_everywhere(brainvq, repo):
    with open(repo / "pyproject.toml", "rb") as f:
        declared = tomllib.load(f)["project"]["version"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", brainvq.go_version())
    assert brainvq.go_version() == declared
    assert brainvq.__version__ == declared
    assert importlib.metadata.version("brainvq") == declared


def test_echo_bytes_exact(brainvq):
    from brainvq.testing import echo_bytes

    rng = np.random.default_rng(7)
    for n in (0, 1, 7, 4096, 1 << 20):
        data = rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()
        assert echo_bytes(data) == data
    assert echo_bytes(b"\x00abc\x00") == b"\x00abc\x00"  # NULs are data, not terminators
    assert echo_bytes(bytearray(b"xy")) == b"xy"
    assert echo_bytes(memoryview(b"xyz")) == b"xyz"
    with pytest.raises(TypeError, match="expected bytes"):
        echo_bytes("not bytes")


@pytest.mark.parametrize("shape", [(0,), (5,), (3, 4), (2, 1, 16, 16), (1, 1, 256, 256), (4, 0, 3)])
def test_float32_round_trip(brainvq, shape):
    from brainvq.testing import echo_float32

    rng = np.random.default_rng(sum(shape) + len(shape))
    a = rng.standard_normal(shape).astype(np.float32)
    if a.size:
        a.flat[0] = np.float32(np.inf)
        a.flat[-1] = np.float32(-0.0)
    out = echo_float32(a)
    assert out.dtype == np.float32 and out.shape == a.shape
    assert out.tobytes() == a.tobytes()  # bit-exact, including inf and -0.0
    assert out.flags.writeable and out.flags.c_contiguous
    assert not np.shares_memory(out, a)


def test_float32_round_trip_converts_layouts(brainvq):
    from brainvq.testing import echo_float32

    base = np.arange(48, dtype=np.float64).reshape(6, 8) / 7.0
    strided = base[::2, 1::3]  # non-contiguous float64 view
    out = echo_float32(strided)
    np.testing.assert_array_equal(out, strided.astype(np.float32))
    big_endian = np.arange(6, dtype=">f4").reshape(2, 3)
    np.testing.assert_array_equal(echo_float32(big_endian), big_endian.astype(np.float32))
    np.testing.assert_array_equal(echo_float32([[1, 2], [3, 4]]), [[1, 2], [3, 4]])
    fortran = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    np.testing.assert_array_equal(echo_float32(fortran), fortran)


def test_float32_bytes_layout_against_struct(brainvq):
    vals = [[1.5, -2.0, 3.25], [0.0, 1e-3, -7.0]]
    data, shape = brainvq.float32_to_bytes(vals)
    assert shape == (2, 3)
    assert data == struct.pack("<6f", 1.5, -2.0, 3.25, 0.0, 1e-3, -7.0)
    back = brainvq.bytes_to_float32(struct.pack("<6f", *range(6)), (3, 2))
    np.testing.assert_array_equal(back, np.arange(6, dtype=np.float32).reshape(3, 2))


def test_array_helpers_reject_bad_input(brainvq):
    with pytest.raises(
        ValueError, match=r"images must have shape \(\*, 1, 4, 4\), got \(2, 1, 4, 5\)"
    ):
        brainvq.float32_to_bytes(np.zeros((2, 1, 4, 5)), (None, 1, 4, 4), name="images")
    with pytest.raises(ValueError, match="must have 4 dimensions"):
        brainvq.float32_to_bytes(np.zeros((4, 4)), (None, 1, 4, 4))
    with pytest.raises(TypeError, match="real numbers"):
        brainvq.float32_to_bytes(np.zeros(3, dtype=np.complex64))
    with pytest.raises(TypeError, match="real numbers"):
        brainvq.float32_to_bytes(["a", "b"])
    with pytest.raises(ValueError, match="expected 24 bytes .* got 20 bytes"):
        brainvq.bytes_to_float32(b"\x00" * 20, (2, 3))
    with pytest.raises(ValueError, match="negative"):
        brainvq.bytes_to_float32(b"", (-1,))


def test_go_error_becomes_exception_with_go_message(brainvq):
    from brainvq.testing import go_fail

    msg = "read /data/slice_001.png: disk on fire (ünïcödé)"
    with pytest.raises(brainvq.GoError) as info:
        go_fail(msg)
    assert str(info.value) == msg
    assert isinstance(info.value, RuntimeError)


def test_go_panic_becomes_exception_and_interpreter_survives(brainvq):
    from brainvq.testing import echo_bytes, go_panic

    for i in range(3):
        with pytest.raises(brainvq.GoError) as info:
            go_panic("kaboom %d" % i)
        text = str(info.value)
        assert text.startswith("brainvq: Go panic in Panic: kaboom %d" % i), text
        assert "pybind.Panic(" in text  # the Go stack points at the panicking function
    assert echo_bytes(b"still alive") == b"still alive"


def test_go_panic_in_fresh_interpreter_exits_cleanly(brainvq):
    code = (
        "import brainvq\n"
        "from brainvq.testing import go_panic, echo_bytes\n"
        "try:\n"
        "    go_panic('boom')\n"
        "except brainvq.GoError as e:\n"
        "    print('caught', str(e).splitlines()[0])\n"
        "print('after', echo_bytes(b'ok'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "caught brainvq: Go panic in Panic: boom",
        "after b'ok'",
    ]


def test_handles_lifecycle(brainvq):
    from brainvq._binding import _pb, call
    from brainvq.testing import Blob

    base = brainvq.live_handles()
    with Blob(b"payload") as blob:
        assert blob.data() == b"payload"
        assert brainvq.live_handles() == base + 1
        h = blob.handle
    assert blob.closed and brainvq.live_handles() == base
    blob.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        blob.data()
    with pytest.raises(brainvq.GoError, match="invalid or already released handle %d" % h):
        call(_pb.Release, h)
    with pytest.raises(brainvq.GoError, match="invalid or released handle"):
        call(_pb.BlobBytes, h)

    # Dropping the last reference releases the Go object too.
    blobs = [Blob(bytes([i])) for i in range(10)]
    assert brainvq.live_handles() == base + 10
    assert [b.data() for b in blobs] == [bytes([i]) for i in range(10)]
    del blobs
    gc.collect()
    assert brainvq.live_handles() == base


def test_repeated_calls_do_not_grow_rss(brainvq):
    from brainvq._binding import gopy_handles
    from brainvq.testing import Blob, echo_float32, go_fail, go_panic

    img = np.random.default_rng(3).standard_normal((1, 1, 256, 256)).astype(np.float32)

    def burst(n):
        for i in range(n):
            out = echo_float32(img)
            if i % 100 == 0:
                assert out[0, 0, 0, 0] == img[0, 0, 0, 0]
                for fn in (go_fail, go_panic):
                    with pytest.raises(brainvq.GoError):
                        fn("x")
                Blob(b"y" * 1024).close()

    burst(200)  # warm up allocators and the Go heap
    gc.collect()
    handles0, rss0 = gopy_handles(), rss_bytes()
    burst(1000)  # moves 256 KiB in and out of Go per call: 500 MiB in total
    gc.collect()
    grown = rss_bytes() - rss0
    assert gopy_handles() == handles0, "gopy handles leaked"
    assert grown < 24 * 2**20, "RSS grew by %.1f MiB over 1000 calls" % (grown / 2**20)


def test_extension_does_not_link_libpython(brainvq):
    ext = Path(brainvq._binding._cext.__file__)
    out = subprocess.run(["readelf", "-d", str(ext)], capture_output=True, text=True, check=True)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out.stdout)
    assert needed, out.stdout  # the parse works: at least libc is listed
    assert not [lib for lib in needed if "python" in lib.lower()], needed


def test_spawned_worker_can_call_go(brainvq):
    from brainvq.testing import echo_bytes

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        # The function must be importable in the child, so use the package's own.
        assert pool.apply_async(echo_bytes, (b"from a worker",)).get(timeout=120) == (
            b"from a worker"
        )


def test_forked_child_gets_clear_error_instead_of_hanging(brainvq):
    from brainvq.testing import echo_bytes

    r, w = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork() in a threaded process
        pid = os.fork()
    if pid == 0:  # child: report what calling into Go does, then leave without cleanup
        os.close(r)
        try:
            echo_bytes(b"x")
            msg = b"no error"
        except RuntimeError as exc:
            msg = str(exc).encode()
        os.write(w, msg[:4000])
        os._exit(0)
    os.close(w)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("forked child hung calling into Go")
        time.sleep(0.05)
    with os.fdopen(r, "rb") as f:
        msg = f.read().decode()
    assert os.waitstatus_to_exitcode(status) == 0
    assert "does not survive fork()" in msg and "spawn" in msg, msg
    assert echo_bytes(b"parent ok") == b"parent ok"
