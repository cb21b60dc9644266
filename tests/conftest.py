"""Shared fixtures: where ../shared is, small MRC files made on the fly, a second thread."""

from __future__ import annotations

import os
import threading
from contextlib import nullcontext
from pathlib import Path

import mrcfile
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MASKRUN_SHARED", REPO.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the calling test when ../shared is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared folder sits beside the checkout in CI)")
    return path


def write_mrc(path: Path, data: np.ndarray, voxel_size=1.5, stack: bool | None = None, mode_dtype=np.float32) -> Path:
    """Write ``data`` as an MRC file; 3D data are a stack when ``stack`` (default: .mrcs).

    mrcfile warns of NaN and inf it writes; a test that writes them on purpose sees it asserted here.
    """
    values = np.asarray(data, dtype=mode_dtype)
    odd = not np.isfinite(values).all()
    warned = pytest.warns(RuntimeWarning, match="Data array contains (NaN|infinite) values|invalid value encountered")
    with mrcfile.new(path, overwrite=True) as mrc, warned if odd else nullcontext():
        mrc.set_data(values)
        if data.ndim == 3 and (stack if stack is not None else path.suffix == ".mrcs"):
            mrc.set_image_stack()
        mrc.voxel_size = voxel_size
    return path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def small_stack(tmp_path, rng) -> Path:
    return write_mrc(tmp_path / "in.mrcs", rng.normal(1.0, 3.0, (4, 24, 24)))


@pytest.fixture
def small_volume(tmp_path, rng) -> Path:
    return write_mrc(tmp_path / "in.mrc", rng.normal(1.0, 3.0, (20, 22, 24)), voxel_size=2.0)


@pytest.fixture
def another_thread():
    """A second Python thread, alive for the whole test (so forking is not safe)."""
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    yield thread
    release.set()
    thread.join()


SPIDER_WORDS = {"NZ": 0, "NY": 1, "IFORM": 4, "NX": 11, "LABREC": 12, "LABBYT": 21, "LENBYT": 22, "ISTACK": 23}
SPIDER_WORDS |= {"MAXIM": 25, "SCALE": 37}


def write_spider(path: Path, images: np.ndarray, pixel_size: float = 1.5, **fields: float) -> Path:
    """Write ``images`` (n, ny, nx) as a little-endian SPIDER stack; ``fields`` override header words."""
    n, ny, nx = images.shape
    labrec = -(-1024 // (4 * nx))
    labbyt = labrec * 4 * nx
    header = np.zeros(labbyt // 4, "<f4")
    for name, value in {"NZ": 1, "NY": ny, "IFORM": 1, "NX": nx, "LABREC": labrec, "LABBYT": labbyt}.items():
        header[SPIDER_WORDS[name]] = value
    header[SPIDER_WORDS["LENBYT"]], header[SPIDER_WORDS["SCALE"]] = 4 * nx, pixel_size
    image_header = header.copy()
    header[SPIDER_WORDS["ISTACK"]], header[SPIDER_WORDS["MAXIM"]] = 2, n
    for name, value in fields.items():
        header[SPIDER_WORDS[name]] = value
    parts = [header.tobytes()]
    for image in images.astype("<f4"):
        parts += [image_header.tobytes(), image.tobytes()]
    path.write_bytes(b"".join(parts))
    return path


def assert_header_describes(path, values):
    """The header's statistics are those of ``values`` (as stored): min and max exactly, mean and rms to 1e-6."""
    exact = values.astype(np.float64)
    with mrcfile.open(path, header_only=True) as mrc:
        h = mrc.header
        assert (float(h.dmin), float(h.dmax)) == (exact.min(), exact.max())
        assert float(h.dmean) == pytest.approx(exact.mean(), rel=1e-6, abs=1e-6 * exact.std())
        assert float(h.rms) == pytest.approx(exact.std(), rel=1e-6)
