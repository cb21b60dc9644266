"""A million-particle RELION 3.1 set, as Extract writes it: 1,000 stacks of 1,000 16² images.

    python bench/million.py FOLDER [--stacks 1000] [--per-stack 1000] [--box 16]

Writes ``FOLDER/Extract/job001/mNNNNN.mrcs`` (float32, noise) and
``FOLDER/particles.star`` with the 13 columns a real extraction carries (~110 MB at
1M rows). The images are noise: what is measured is the metadata, planning and
streaming, not the masking of signal.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

COLUMNS = (
    "rlnCoordinateX",
    "rlnCoordinateY",
    "rlnAutopickFigureOfMerit",
    "rlnClassNumber",
    "rlnAnglePsi",
    "rlnImageName",
    "rlnMicrographName",
    "rlnOpticsGroup",
    "rlnCtfMaxResolution",
    "rlnCtfFigureOfMerit",
    "rlnDefocusU",
    "rlnDefocusV",
    "rlnDefocusAngle",
)


def _header(n: int, box: int) -> bytes:
    header = np.zeros(256, np.int32)
    header[:4] = (box, box, n, 2)  # nx, ny, nz, mode 2 (float32)
    header[7:10] = (box, box, n)  # mx, my, mz
    cell = np.array([box * 4.0, box * 4.0, n * 4.0], np.float32)  # 4 Å/px, as the STAR says
    header[10:13] = cell.view(np.int32)
    header[13:16] = np.array([90.0] * 3, np.float32).view(np.int32)
    header[16:19] = (1, 2, 3)
    raw = bytearray(header.tobytes())
    raw[208:212] = b"MAP "
    raw[212:216] = bytes([0x44, 0x44, 0, 0])
    return bytes(raw)


def make_million(folder: Path, stacks: int = 1000, per_stack: int = 1000, box: int = 16) -> Path:
    """Write the set (once: an existing complete set is kept) and return its STAR file."""
    star = folder / "particles.star"
    if star.exists():
        return star
    movies = folder / "Extract" / "job001"
    movies.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    block = rng.standard_normal((per_stack, box, box), dtype=np.float32)
    for s in range(stacks):
        with open(movies / f"m{s + 1:05d}.mrcs", "wb") as out:
            out.write(_header(per_stack, box))
            (block + np.float32(s % 7)).tofile(out)
    n = stacks * per_stack
    x = rng.uniform(100, 3900, n)
    y = rng.uniform(100, 3900, n)
    fom = rng.uniform(0, 1, n)
    psi = rng.uniform(-180, 180, n)
    res = rng.uniform(2.5, 6, n)
    cfom = rng.uniform(0.05, 0.3, n)
    du = rng.uniform(8000, 25000, n)
    dv = du - rng.uniform(0, 500, n)
    da = rng.uniform(-180, 180, n)
    tmp = star.with_name(".particles.star.part")
    with open(tmp, "w") as out:
        out.write("\n# version 30001\n\ndata_optics\n\nloop_\n")
        out.write("_rlnOpticsGroupName #1\n_rlnOpticsGroup #2\n_rlnMicrographOriginalPixelSize #3\n")
        out.write("_rlnVoltage #4\n_rlnSphericalAberration #5\n_rlnAmplitudeContrast #6\n")
        out.write("_rlnImagePixelSize #7\n_rlnImageSize #8\n_rlnImageDimensionality #9\n")
        out.write(f"opticsGroup1 1 1.000000 300.000000 2.700000 0.100000 4.000000 {box} 2\n")
        out.write("\n\n# version 30001\n\ndata_particles\n\nloop_\n")
        out.write("".join(f"_{c} #{i}\n" for i, c in enumerate(COLUMNS, 1)))
        for s in range(stacks):
            lines = []
            for k in range(per_stack):
                i = s * per_stack + k
                lines.append(
                    f"{x[i]:.1f} {y[i]:.1f} {fom[i]:.4f} 1 {psi[i]:.3f} {k + 1:06d}@Extract/job001/m{s + 1:05d}.mrcs "
                    f"MotionCorr/m{s + 1:05d}.mrc 1 {res[i]:.3f} {cfom[i]:.4f} {du[i]:.1f} {dv[i]:.1f} {da[i]:.3f}\n"
                )
            out.write("".join(lines))
        out.write("\n")
    tmp.rename(star)
    return star


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--stacks", type=int, default=1000)
    parser.add_argument("--per-stack", type=int, default=1000)
    parser.add_argument("--box", type=int, default=16)
    args = parser.parse_args()
    print(make_million(args.folder, args.stacks, args.per_stack, args.box))


if __name__ == "__main__":
    main()
