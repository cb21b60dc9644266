"""Shared fixtures: where ../shared is, small MRC files made on the fly, a second thread."""

from __future__ import annotations

import os
import threading
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
    """Write ``data`` as an MRC file; 3D data are a stack when ``stack`` (default: .mrcs)."""
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(np.asarray(data, dtype=mode_dtype))
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
