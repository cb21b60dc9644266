"""What a script running maskrun sees: each warning once, at its own line; the command's notes; a full disk's line."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import maskrun

from conftest import write_mrc

JOB = """\
version: 1
name: s
inputs:
  particles: stack.mrcs
mask:
  source: geometry
  geometry: {shape: circular, radius: 25}
fill: {with: avg}
batch_size: 2
report: false
"""


def _stack(folder):
    stack = np.random.default_rng(1).normal(3.0, 1.0, (6, 40, 40)).astype(np.float32)
    return write_mrc(folder / "stack.mrcs", stack)


def test_run_job_gives_each_warning_once_at_the_caller_and_the_command_s_notes(tmp_path):
    _stack(tmp_path)
    (tmp_path / "job.yaml").write_text(JOB)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = maskrun.run_job(tmp_path / "job.yaml")
    assert summary.units_run == 3 and isinstance(summary, maskrun.RunSummary)
    cut = [w for w in caught if issubclass(w.category, maskrun.MaskrunWarning) and "cut by the box" in str(w.message)]
    assert len(cut) == 1  # planning and each of the 3 units built the mask
    assert any("particles.star written lists the masked images without rlnVoltage" in note for note in summary.notes)
    assert {w.filename for w in caught} == {__file__}


def test_mask_file_and_make_mask_warn_at_the_caller_s_line(tmp_path):
    stack = _stack(tmp_path)
    with pytest.warns(maskrun.MaskrunWarning, match="cut by the box") as caught:
        result = maskrun.mask_file(stack, tmp_path / "out.mrcs", mask={"shape": "circular", "radius": 25})
    assert isinstance(result, maskrun.MaskResult)
    with pytest.warns(maskrun.MaskrunWarning, match="cut by the box") as made:
        maskrun.make_mask({"shape": "circular", "radius": 25}, (40, 40))
    assert [w.filename for w in [*caught, *made]] == [__file__, __file__]


def test_a_refused_call_raises_its_error_alone(tmp_path):
    stack = _stack(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(maskrun.UserError):
            maskrun.mask_file(stack, tmp_path / "out.mrcs", mask={"shape": "circular", "radius": 25}, fill="x")
    assert caught == []


@pytest.mark.parametrize("call", ["mask_file", "run_job"])
def test_a_file_size_limit_is_the_command_s_run_failure_not_an_os_error(tmp_path, call):
    _stack(tmp_path)
    (tmp_path / "job.yaml").write_text(JOB.replace("batch_size: 2", "batch_size: 6"))  # a 38 kB stack
    code = textwrap.dedent(
        f"""
        import resource, warnings, maskrun
        warnings.simplefilter("ignore")
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, resource.RLIM_INFINITY))
        try:
            if {call!r} == "mask_file":
                maskrun.mask_file("stack.mrcs", "out.mrcs", mask={{"shape": "circular", "radius": 10}})
            else:
                maskrun.run_job("job.yaml")
        except maskrun.RunFailure as failure:
            print(failure)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert "larger than this session's file-size limit (0.0 MB: ulimit -f); raise it (ulimit -f unlimited)" in (
        done.stdout
    ), done.stderr
    assert not (tmp_path / "out.mrcs").exists()


def test_warnings_as_errors_raise_before_anything_is_written(tmp_path):
    stack = _stack(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(maskrun.MaskrunWarning, match="cut by the box"):
            maskrun.mask_file(stack, tmp_path / "out.mrcs", mask={"shape": "circular", "radius": 25})
    assert not (tmp_path / "out.mrcs").exists()
