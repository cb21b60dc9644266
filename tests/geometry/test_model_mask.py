"""Masks from atomic models (issue 24, item 3): spheres equal a brute-force "voxel centre within R Å
of an atom" on maps with a non-zero origin, nstart and non-cubic boxes; selections; molmap; refusals."""

from __future__ import annotations

import time

import gemmi
import mrcfile
import numpy as np
import pytest

from maskrun.engine.model_mask_file import map_grid
from maskrun.geometry.map_mask import MapMaskSteps, mask_from_map
from maskrun.geometry.model_mask import MOLMAP_SIGMA_FACTOR, molmap_density, spheres_mask
from maskrun.io.images import inspect_image

from commands import digest, maskrun, refused_line
from conftest import write_mrc


def brute_force(atoms_zyx, radii, shape_zyx, origin_zyx, step_zyx) -> np.ndarray:
    """Every voxel centre against every atom: ``(z−pz)² + (y−py)² + (x−px)² ≤ R²``."""
    z, y, x = (origin_zyx[a] + np.arange(shape_zyx[a]) * step_zyx[a] for a in range(3))
    z, y, x = z[:, None, None], y[None, :, None], x[None, None, :]
    mask = np.zeros(shape_zyx, bool)
    for atom, r in zip(atoms_zyx, np.broadcast_to(radii, (len(atoms_zyx),))):
        mask |= ((z - atom[0]) ** 2 + (y - atom[1]) ** 2) + (x - atom[2]) ** 2 <= r * r
    return mask


@pytest.mark.parametrize(
    "shape_zyx,origin_zyx,step_zyx",
    [
        ((12, 15, 19), (-7.3, 11.2, 103.9), (1.1, 1.1, 1.1)),
        ((9, 20, 13), (0.0, 0.0, 0.0), (1.4, 0.9, 1.25)),
        ((16, 16, 16), (-24.0, -24.0, -24.0), (1.5, 1.5, 1.5)),
    ],
)
@pytest.mark.parametrize("radius", [0.8, 1.1, 2.75, "per atom"])
def test_spheres_equal_brute_force(shape_zyx, origin_zyx, step_zyx, radius):
    rng = np.random.default_rng(7)
    extent = np.array(shape_zyx) * np.array(step_zyx)
    atoms = np.array(origin_zyx) + rng.uniform(-4, extent + 4, (60, 3))
    radii = rng.uniform(0.5, 3.0, 60) if radius == "per atom" else radius
    made = spheres_mask(atoms, radii, shape_zyx, origin_zyx, step_zyx)
    expected = brute_force(atoms, radii, shape_zyx, origin_zyx, step_zyx)
    assert made.any() and np.array_equal(made, expected)


def test_atoms_on_grid_points_keep_the_sphere_surface():
    """d = R exactly (whole numbers): the voxel is kept, as "within R" says."""
    atoms = np.array([[5.0, 5.0, 5.0], [0.0, 9.0, 2.0]])
    made = spheres_mask(atoms, 3.0, (11, 11, 11), (0, 0, 0), (1, 1, 1))
    assert made[5, 5, 8] and made[5, 8, 5] and made[2, 5, 5] and not made[5, 5, 9]
    assert np.array_equal(made, brute_force(atoms, 3.0, (11, 11, 11), (0, 0, 0), (1, 1, 1)))


def brute_force_molmap(atoms, weights, resolution, shape, origin, step) -> np.ndarray:
    """ChimeraX's molmap voxel by voxel: each atom's Gaussian over the whole grid, cut off at ±5σ per axis."""
    sigma = resolution * MOLMAP_SIGMA_FACTOR
    z, y, x = np.meshgrid(*(origin[a] + np.arange(shape[a]) * step[a] for a in range(3)), indexing="ij")
    expected = np.zeros(shape)
    for atom, w in zip(atoms, weights):
        d = [np.abs(g - p) for g, p in zip((z, y, x), atom)]
        inside = (d[0] <= 5 * sigma) & (d[1] <= 5 * sigma) & (d[2] <= 5 * sigma)  # ChimeraX's cut-off: a box of ±5σ
        expected += np.where(inside, w * np.exp(-(d[0] ** 2 + d[1] ** 2 + d[2] ** 2) / (2 * sigma**2)), 0)
    return expected


def test_molmap_is_chimerax_sum_of_gaussians():
    rng = np.random.default_rng(3)
    shape, origin, step = (10, 12, 14), (2.0, -3.0, 5.0), (1.2, 1.2, 1.2)
    atoms = np.array(origin) + rng.uniform(0, 12, (15, 3))
    weights = rng.integers(1, 17, 15)
    made = molmap_density(atoms, weights, 4.0, shape, origin, step)
    expected = brute_force_molmap(atoms, weights, 4.0, shape, origin, step)
    np.testing.assert_allclose(made, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("resolution", [500.0, 40.0, 9.0])
def test_a_molmap_reaching_past_the_box_costs_the_box_and_equals_the_sum(resolution):
    """500 Å (a typo of 5.00) on a 16³ map: its 5σ reach, 563 voxels, took a padded grid of (16 + 4 · 565)³
    float64 voxels (94 GB): a MemoryError, or the machine's memory for minutes. Atoms outside the box count too."""
    rng = np.random.default_rng(5)
    shape, origin, step = (16, 13, 11), (-4.0, 3.0, 7.5), (1.0, 1.0, 1.0)
    atoms = np.array(origin) + rng.uniform(-6, 18, (12, 3))
    weights = rng.integers(1, 17, 12)
    made = molmap_density(atoms, weights, resolution, shape, origin, step)
    expected = brute_force_molmap(atoms, weights, resolution, shape, origin, step)
    np.testing.assert_allclose(made, expected, rtol=1e-12, atol=1e-12)


def test_spheres_reaching_past_the_box_cost_the_box():
    """A radius of 500 Å on a 12³ map marked boxes of 1003³ voxels on a grid padded to 2016³."""
    atoms = np.array([[5.0, 5.0, 5.0], [40.0, -30.0, 2.0]])
    made = spheres_mask(atoms, 500.0, (12, 12, 12), (0, 0, 0), (1, 1, 1))
    assert made.all()
    partial = spheres_mask(atoms, 40.0, (12, 12, 12), (0, 0, 0), (1, 1, 1))
    assert np.array_equal(partial, brute_force(atoms, 40.0, (12, 12, 12), (0, 0, 0), (1, 1, 1)))


# --- files: a model (PDB or mmCIF, written with gemmi) and a map with a placement -----------------------------


def write_model(path, atoms_xyz, chains=None, resnames=None, elements=None):
    """A one-model structure: one atom per residue, chain / residue name / element per atom."""
    structure = gemmi.Structure()
    model = gemmi.Model(1)
    chains = chains or ["A"] * len(atoms_xyz)
    for name in dict.fromkeys(chains):
        chain = gemmi.Chain(name)
        for number, (xyz, c) in enumerate(zip(atoms_xyz, chains), start=1):
            if c != name:
                continue
            residue = gemmi.Residue()
            residue.name = resnames[number - 1] if resnames else "ALA"
            residue.seqid = gemmi.SeqId(number, " ")
            atom = gemmi.Atom()
            element = elements[number - 1] if elements else "C"
            atom.name, atom.element, atom.pos = element, gemmi.Element(element), gemmi.Position(*map(float, xyz))
            residue.add_atom(atom)
            chain.add_residue(residue)
        model.add_chain(chain)
    structure.add_model(model)
    structure.setup_entities()
    if str(path).endswith(".pdb"):
        structure.write_pdb(str(path))
    else:
        structure.make_mmcif_document().write_file(str(path))
    return path


def write_ensemble(path, models_xyz, chains):
    """An NMR-like file: models 1, 2… with the same chains (one atom per residue), at the positions given per model."""
    structure = gemmi.Structure()
    for number, atoms_xyz in enumerate(models_xyz, start=1):
        model = gemmi.Model(number)
        for name in dict.fromkeys(chains):
            chain = gemmi.Chain(name)
            for seq, (xyz, c) in enumerate(zip(atoms_xyz, chains), start=1):
                if c == name:
                    residue = gemmi.Residue()
                    residue.name, residue.seqid = "ALA", gemmi.SeqId(seq, " ")
                    atom = gemmi.Atom()
                    atom.name, atom.element, atom.pos = "C", gemmi.Element("C"), gemmi.Position(*map(float, xyz))
                    residue.add_atom(atom)
                    chain.add_residue(residue)
            model.add_chain(chain)
        structure.add_model(model)
    structure.setup_entities()
    structure.write_pdb(str(path))
    return path


def write_map(path, shape_zyx, voxel=1.0, origin_xyz=(0.0, 0.0, 0.0), nstart_xyz=(0, 0, 0)):
    write_mrc(path, np.zeros(shape_zyx, np.float32), voxel_size=voxel)
    with mrcfile.open(path, "r+") as mrc:
        mrc.header.origin = origin_xyz
        mrc.nstart = nstart_xyz
    return path


def read_mask(path):
    with mrcfile.open(path) as mrc:
        return mrc.data.copy(), mrc.header.copy()


@pytest.mark.parametrize("suffix", [".pdb", ".cif"])
@pytest.mark.parametrize(
    "placement",
    [
        {"origin_xyz": (100.0, -40.5, 12.25)},  # the header's origin, in Å
        {"nstart_xyz": (-10, 7, -3)},  # no origin: nxstart… times the voxel size
        {},
    ],
)
def test_make_mask_from_model_equals_brute_force(tmp_path, suffix, placement):
    voxel, shape = 1.3, (14, 17, 20)
    like = write_map(tmp_path / "map.mrc", shape, voxel, **placement)
    grid = map_grid(inspect_image(like))
    start_xyz = np.array(grid.origin_zyx_angstrom[::-1])
    rng = np.random.default_rng(11)
    atoms_xyz = start_xyz + rng.uniform(-3, np.array(shape[::-1]) * voxel + 3, (40, 3))
    model = write_model(tmp_path / f"model{suffix}", atoms_xyz)
    proc = maskrun("make-mask", tmp_path / "mask.mrc", "--from-model", model, "--like", like, "--radius", "3.1 A")
    assert proc.returncode == 0, proc.stderr
    values, header = read_mask(tmp_path / "mask.mrc")
    # PDB keeps 3 decimals: compare with the coordinates as read
    read_back = np.array([[a.pos.x, a.pos.y, a.pos.z] for r in gemmi.read_structure(str(model))[0][0] for a in r])
    expected = brute_force(read_back[:, ::-1], 3.1, shape, grid.origin_zyx_angstrom, grid.step_zyx_angstrom)
    assert values.dtype == np.float32 and np.array_equal(values == 1, expected) and set(np.unique(values)) <= {0, 1}
    assert tuple(header.origin.item()) == tuple(placement.get("origin_xyz", (0.0, 0.0, 0.0)))
    assert (int(header.nxstart), int(header.nystart), int(header.nzstart)) == placement.get("nstart_xyz", (0, 0, 0))
    assert "40 atoms of 40 in model 1" in proc.stderr


def test_radius_in_pixels_and_vdw(tmp_path):
    like = write_map(tmp_path / "map.mrc", (12, 12, 12), 1.5, origin_xyz=(-9.0, -9.0, -9.0))
    atoms = np.array([[0.0, 0.0, 0.0], [4.0, 1.0, -2.0]])
    model = write_model(tmp_path / "m.pdb", atoms, elements=["C", "S"])
    grid = map_grid(inspect_image(like))
    px = maskrun("make-mask", tmp_path / "px.mrc", "--from-model", model, "--like", like, "--radius", "2")
    assert px.returncode == 0, px.stderr
    expected = brute_force(atoms[:, ::-1], 3.0, (12, 12, 12), grid.origin_zyx_angstrom, grid.step_zyx_angstrom)
    assert np.array_equal(read_mask(tmp_path / "px.mrc")[0] == 1, expected)
    vdw = maskrun("make-mask", tmp_path / "vdw.mrc", "--from-model", model, "--like", like, "--radius", "vdw")
    assert vdw.returncode == 0, vdw.stderr
    radii = np.array([gemmi.Element("C").vdw_r, gemmi.Element("S").vdw_r]).round(3)
    expected = brute_force(atoms[:, ::-1], radii, (12, 12, 12), grid.origin_zyx_angstrom, grid.step_zyx_angstrom)
    assert np.array_equal(read_mask(tmp_path / "vdw.mrc")[0] == 1, expected)


def test_selection_keeps_chain_and_ligand(tmp_path):
    like = write_map(tmp_path / "map.mrc", (20, 20, 20), 1.0)
    atoms = np.array([[4.0, 4.0, 4.0], [15.0, 15.0, 15.0], [4.0, 15.0, 10.0]])
    model = write_model(tmp_path / "m.cif", atoms, chains=["A", "B", "B"], resnames=["ALA", "GLY", "ATP"])
    for select, kept in [("//A", [0]), ("//B", [1, 2]), ("//*/(ATP)", [2])]:
        out = tmp_path / f"{len(kept)}{kept[0]}.mrc"
        proc = maskrun("make-mask", out, "--from-model", model, "--like", like, "--radius", "2 A", "--select", select)
        assert proc.returncode == 0, proc.stderr
        expected = brute_force(atoms[kept][:, ::-1], 2.0, (20, 20, 20), (0, 0, 0), (1, 1, 1))
        assert np.array_equal(read_mask(out)[0] == 1, expected), select
        assert f"{len(kept)} atoms selected by '{select}' of 3" in proc.stderr


@pytest.mark.parametrize(
    "select,kept,note",
    [
        ("/2/A", (1, [0, 1]), "2 atoms selected by '/2/A' of 3 in model 2"),
        ("/2", (1, [0, 1, 2]), "3 atoms selected by '/2' of 3 in model 2"),
        ("/1/B", (0, [2]), "1 atoms selected by '/1/B' of 3 in model 1"),
        ("//A", (0, [0, 1]), "2 atoms selected by '//A' of 3 in model 1, the first of 2"),
        (None, (0, [0, 1, 2]), "3 atoms of 3 in model 1, the first of 2"),
    ],
)
def test_a_selection_naming_a_model_reads_that_model(tmp_path, select, kept, note):
    """'/2/A' is chain A of model 2 (it was chain A of model 1); without a model number, the first."""
    like = write_map(tmp_path / "map.mrc", (20, 20, 20), 1.0)
    first = np.array([[4.0, 4.0, 4.0], [4.0, 15.0, 4.0], [15.0, 4.0, 4.0]])
    models = [first, first + [0.0, 0.0, 10.0]]
    ensemble = write_ensemble(tmp_path / "nmr.pdb", models, chains=["A", "A", "B"])
    chosen = ["--select", select] if select else []
    out = tmp_path / "mask.mrc"
    proc = maskrun("make-mask", out, "--from-model", ensemble, "--like", like, "--radius", "2 A", *chosen)
    assert proc.returncode == 0, proc.stderr
    atoms = models[kept[0]][kept[1]]
    assert np.array_equal(read_mask(out)[0] == 1, brute_force(atoms[:, ::-1], 2.0, (20, 20, 20), (0, 0, 0), (1, 1, 1)))
    assert f"nmr.pdb: {note}\n" in proc.stderr


def test_a_model_the_file_does_not_hold_selects_nothing(tmp_path):
    like = write_map(tmp_path / "map.mrc", (20, 20, 20), 1.0)
    first = np.array([[4.0, 4.0, 4.0], [15.0, 4.0, 4.0]])
    ensemble = write_ensemble(tmp_path / "nmr.pdb", [first, first + 5], chains=["A", "B"])
    before = digest(tmp_path)
    for select in ("/7", "/3/A"):
        proc = maskrun("make-mask", tmp_path / "m.mrc", "--from-model", ensemble, "--like", like, "--radius", "2",
                       "--select", select)  # fmt: skip
        line = refused_line(proc)
        assert f"--select: '{select}' selects no atom: nmr.pdb holds no such model (its models: 1, 2)" in line
        assert digest(tmp_path) == before


def test_extend_and_soft_edge_in_angstrom_are_the_map_masks(tmp_path):
    like = write_map(tmp_path / "map.mrc", (24, 24, 24), 0.8)
    atoms = np.array([[9.6, 9.6, 9.6], [12.0, 8.0, 10.0]])
    model = write_model(tmp_path / "m.pdb", atoms)
    out = tmp_path / "soft.mrc"
    proc = maskrun(
        "make-mask", out, "--from-model", model, "--like", like, "--radius", "2 A", "--extend", "1.6 A",
        "--soft-edge", "4 px",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    grid = map_grid(inspect_image(like))  # 0.8 Å as the header holds it (float32)
    binary = brute_force(atoms[:, ::-1], 2.0, (24, 24, 24), grid.origin_zyx_angstrom, grid.step_zyx_angstrom)
    expected = mask_from_map(binary.astype(np.float32), MapMaskSteps(threshold=0.5, extend_px=2.0, soft_edge_px=4.0))
    np.testing.assert_array_equal(read_mask(out)[0], expected)


def test_molmap_mask_thresholds_a_fraction_of_the_peak(tmp_path):
    like = write_map(tmp_path / "map.mrc", (24, 24, 24), 1.0, origin_xyz=(-12.0, -12.0, -12.0))
    model = write_model(tmp_path / "m.pdb", np.array([[0.0, 0.0, 0.0], [1.5, 0.0, 0.0]]))
    loose = maskrun("make-mask", tmp_path / "a.mrc", "--from-model", model, "--like", like, "--molmap", "6")
    tight = maskrun(
        "make-mask", tmp_path / "b.mrc", "--from-model", model, "--like", like, "--molmap", "6", "--threshold", "0.5"
    )
    assert loose.returncode == 0 and tight.returncode == 0, loose.stderr + tight.stderr
    a, b = read_mask(tmp_path / "a.mrc")[0], read_mask(tmp_path / "b.mrc")[0]
    assert b.sum() < a.sum() and np.all(a >= b) and a[12, 12, 12] == 1 and a[0, 0, 0] == 0


def test_molmap_resolution_in_angstrom_written_out_and_in_pixels_refused_with_its_number(tmp_path):
    """``--molmap`` took a number only (argparse's "invalid float value: '6 A'"), as ``--lowpass`` did."""
    like = write_map(tmp_path / "map.mrc", (24, 24, 24), 1.5, origin_xyz=(-12.0, -12.0, -12.0))
    model = write_model(tmp_path / "m.pdb", np.array([[0.0, 0.0, 0.0], [1.5, 0.0, 0.0]]))
    made = []
    for resolution in ("6", "6 A", "6Å"):
        out = tmp_path / f"m{len(made)}.mrc"
        proc = maskrun("make-mask", out, "--from-model", model, "--like", like, "--molmap", resolution)
        assert proc.returncode == 0, proc.stderr
        made.append(read_mask(out)[0])
    assert all(np.array_equal(values, made[0]) for values in made)
    proc = maskrun("make-mask", tmp_path / "px.mrc", "--from-model", model, "--like", like, "--molmap", "4 px")
    assert refused_line(proc) == (
        "maskrun make-mask: error: --molmap: '4 px' is in px, but --molmap is in Å: give 6, 4 px at 1.5 Å/px"
    )


@pytest.mark.parametrize(
    "options,kept,words",
    [
        (["--radius", "2", "--extend", "-5"], 0.0, "keeps nothing: it is 0 over the whole box; make the "
         "extend (-5 px) less negative or the radius (2 Å) larger"),
        (["--radius", "30 A"], 1.0, "keeps everything: it is 1 over the whole box; make the radius (30 Å) or the "
         "extend smaller"),
        (["--radius", "30 A", "--invert"], 0.0, "keeps nothing: it is 0 over the whole box; make the radius "
         "(30 Å) or the extend smaller"),
        (["--molmap", "6", "--extend", "20"], 1.0, "keeps everything: it is 1 over the whole box; raise the "
         "threshold (0.1 of the peak) or make the extend (20 px) smaller"),
    ],
)  # fmt: skip
def test_a_model_mask_keeping_nothing_or_the_whole_box_warns(tmp_path, options, kept, words):
    """As a map mask does: it was written with only a note of 0 % (or 100 %) of the box."""
    like = write_map(tmp_path / "map.mrc", (10, 10, 10), 1.0)
    model = write_model(tmp_path / "m.pdb", np.array([[5.0, 5.0, 5.0], [4.0, 5.0, 5.0]]))
    proc = maskrun("make-mask", tmp_path / "out.mrc", "--from-model", model, "--like", like, *options)
    assert proc.returncode == 0, proc.stderr
    assert np.all(read_mask(tmp_path / "out.mrc")[0] == kept)
    assert f"maskrun: warning: the mask made from m.pdb {words}\n" in proc.stderr


def test_a_model_mask_keeping_part_of_the_box_does_not_warn(tmp_path):
    like = write_map(tmp_path / "map.mrc", (10, 10, 10), 1.0)
    model = write_model(tmp_path / "m.pdb", np.array([[5.0, 5.0, 5.0]]))
    proc = maskrun("make-mask", tmp_path / "out.mrc", "--from-model", model, "--like", like, "--radius", "2",
                   "--extend", "-1", "--invert")  # fmt: skip
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("outside", [3, 2])
def test_a_model_mostly_outside_the_box_warns_and_some_outside_is_a_note(tmp_path, outside):
    """3 of 4 atoms outside: a warning (it was a note); 2 of 4, half: still a note."""
    like = write_map(tmp_path / "map.mrc", (10, 10, 10), 1.0)
    atoms = np.array([[5.0, 5.0, 5.0]] * (4 - outside) + [[30.0 + k, 5.0, 5.0] for k in range(outside)])
    model = write_model(tmp_path / "m.pdb", atoms)
    proc = maskrun("make-mask", tmp_path / "out.mrc", "--from-model", model, "--like", like, "--radius", "2")
    assert proc.returncode == 0, proc.stderr
    warned = [line for line in proc.stderr.splitlines() if line.startswith("maskrun: warning:")]
    if outside == 3:
        assert warned == [
            "maskrun: warning: m.pdb: 3 of the 4 atoms lie outside the box of map.mrc (atoms: x 5…32, y 5…5, "
            "z 5…5 Å; box: x -0.5…9.5, y -0.5…9.5, z -0.5…9.5 Å): the model is likely not fitted in this map; fit "
            "it into the map, give the map it was built in, or check the map's voxel size first (1 Å: the model "
            "spans 27 × 0 × 0 Å, wider than the box's 10 × 10 × 10 Å along x: a binned map whose header kept the "
            "unbinned voxel size?), then its origin (0, 0, 0 Å, none in its header: cropping or re-boxing may have "
            "reset it)"
        ]
        assert "maskrun: note: m.pdb: 3 of" not in proc.stderr  # not the note too
    else:
        assert warned == [] and "maskrun: note: m.pdb: 2 of the 4 atoms lie outside the box of map.mrc" in proc.stderr


# --- refusals: exit 2, one line naming the option and the fix, nothing written ------------------------------


def _refusal_cases(tmp_path):
    like = write_map(tmp_path / "map.mrc", (10, 10, 10), 1.0, origin_xyz=(50.0, 50.0, 50.0))
    model = write_model(tmp_path / "m.pdb", np.array([[55.5, 55.5, 55.5]]))
    far = write_model(tmp_path / "far.pdb", np.array([[0.0, 0.0, 0.0], [3.0, 2.0, 1.0]]))
    (tmp_path / "junk.cif").write_text("this is not a model\n")
    write_mrc(tmp_path / "novoxel.mrc", np.zeros((10, 10, 10)), voxel_size=0.0)
    out = tmp_path / "mask.mrc"
    return [
        (["--from-model", far, "--like", like, "--radius", "3"], "--from-model: all 2 atoms lie outside the map's box"),
        (["--from-model", model, "--like", like, "--radius", "3", "--select", "//Z"], "--select: '//Z' selects none"),
        (["--from-model", model, "--like", like, "--radius", "3", "--select", "A(("], "--select: 'A((' is not a gemmi"),
        (
            ["--from-model", tmp_path / "junk.cif", "--like", like, "--radius", "3"],
            "--from-model: not a PDB/mmCIF model: gemmi cannot read it",
        ),
        (
            ["--from-model", tmp_path / "none.pdb", "--like", like, "--radius", "3"],
            "none.pdb: --from-model: file not found; give a PDB or mmCIF file",
        ),
        (["--from-model", model, "--radius", "3"], "--from-model needs --like MAP"),
        (["--from-model", model, "--like", like], "give either a radius"),
        (["--from-model", model, "--like", like, "--radius", "3", "--threshold", "0.2"], "a threshold goes with"),
        (["--from-model", model, "--like", like, "--molmap", "5", "--threshold", "1.5"], "--threshold:"),
        (
            ["--from-model", model, "--like", like, "--radius", "-2 A"],
            "--radius: must be a number > 0 (a length: '3 A', '2 px', 2; or 'vdw'); got '-2 A'",
        ),
        (["--from-model", model, "--like", tmp_path / "novoxel.mrc", "--radius", "3"], "--like: has no voxel size"),
        (["--from-model", model, "--like", like, "--radius", "0.1"], "--radius: no voxel centre lies within"),
        (["--from-model", model, "--like", like, "--shape", "sphere"], "give one of --from-model, --from-map"),
        (["--from-map", like, "--threshold", "0", "--extend", "2 nm"], "--extend: '2 nm' is not a length; write"),
        (["--from-map", tmp_path / "novoxel.mrc", "--threshold", "0", "--extend", "2 A"], "--extend: is given in Å"),
        (["--shape", "sphere", "--box", "8", "--select", "//A"], "--select: is an option of --from-model; a mask of a"),
    ], out


def test_refusals_name_the_option_and_write_nothing(tmp_path):
    cases, out = _refusal_cases(tmp_path)
    before = digest(tmp_path)
    for options, words in cases:
        line = refused_line(maskrun("make-mask", out, *options))
        assert words in line, (options, line)
        assert digest(tmp_path) == before, options


@pytest.mark.parametrize(
    "options,owner",
    [
        (["--keep-largest-component"], "--from-map"),
        (["--lowpass", "8"], "--from-map"),
        (["--min-component-voxels", "0"], "--from-map"),
        (["--or", "map.mrc"], "--from-map"),
        (["--helix"], "--from-map"),
        (["--pixel-size", "1.5"], "--from-map and --shape"),
    ],
)
def test_options_of_other_masks_are_refused_with_a_model(tmp_path, options, owner):
    """They were ignored: exit 0, a mask without the step asked for."""
    like = write_map(tmp_path / "map.mrc", (10, 10, 10), 1.0)
    model = write_model(tmp_path / "m.pdb", np.array([[5.0, 5.0, 5.0]]))
    before = digest(tmp_path)
    options = [str(like) if word == "map.mrc" else word for word in options]
    line = refused_line(
        maskrun("make-mask", tmp_path / "out.mrc", "--from-model", model, "--like", like, "--radius", "2", *options)
    )
    assert f"{options[0]}: is an option of {owner}; a mask from a model takes" in line
    assert digest(tmp_path) == before


def test_mask_from_model_refuses_to_write_over_its_model(tmp_path):
    like = write_map(tmp_path / "map.mrc", (10, 10, 10), 1.0)
    model = write_model(tmp_path / "m.pdb", np.array([[5.0, 5.0, 5.0]]))
    proc = maskrun("make-mask", model, "--from-model", model, "--like", like, "--radius", "3", "--overwrite")
    assert "m.pdb" in refused_line(proc)


@pytest.mark.bench
def test_half_a_million_atoms_on_a_320_grid_within_10_s():
    rng = np.random.default_rng(0)
    atoms = rng.normal(160, 45, (500_000, 3))
    start = time.perf_counter()
    made = spheres_mask(atoms, 3.0, (320, 320, 320), (0, 0, 0), (1, 1, 1))
    assert time.perf_counter() - start <= 10 and made.any()


def test_a_map_stored_in_another_axis_order_places_atoms_as_chimerax_does(tmp_path):
    """mapc, mapr, maps = 3, 2, 1: columns hold z, sections x; each stored axis takes its spatial coordinate."""
    stored_shape = (10, 12, 14)  # (sections = x, rows = y, columns = z)
    like = tmp_path / "zyx.mrc"
    write_mrc(like, np.zeros(stored_shape, np.float32), voxel_size=1.0)
    with mrcfile.open(like, "r+") as mrc:
        mrc.header.mapc, mrc.header.mapr, mrc.header.maps = 3, 2, 1
        mrc.header.mx, mrc.header.my, mrc.header.mz = 10, 12, 14  # x, y, z samples
        mrc.header.cella = (10 * 1.2, 12 * 1.1, 14 * 1.3)
        mrc.header.origin = (3.0, -2.0, 7.0)
    grid = map_grid(inspect_image(like))
    assert grid.axes_xyz == (0, 1, 2) and grid.origin_zyx_angstrom == (3.0, -2.0, 7.0)
    np.testing.assert_allclose(grid.step_zyx_angstrom, (1.2, 1.1, 1.3), rtol=1e-6)
    rng = np.random.default_rng(5)
    atoms_xyz = np.array([3.0, -2.0, 7.0]) + rng.uniform(0, 12, (25, 3))
    model = write_model(tmp_path / "m.cif", atoms_xyz)
    proc = maskrun("make-mask", tmp_path / "mask.mrc", "--from-model", model, "--like", like, "--radius", "2.5 A")
    assert proc.returncode == 0, proc.stderr
    values, header = read_mask(tmp_path / "mask.mrc")
    expected = brute_force(atoms_xyz, 2.5, stored_shape, grid.origin_zyx_angstrom, grid.step_zyx_angstrom)
    assert np.array_equal(values == 1, expected)
    assert (int(header.mapc), int(header.mapr), int(header.maps)) == (3, 2, 1)
    far = write_model(tmp_path / "far.pdb", np.array([[100.0, 0.0, 0.0]]))
    line = refused_line(maskrun("make-mask", tmp_path / "m2.mrc", "--from-model", far, "--like", like, "--radius", "2"))
    assert "box: x 2.4…14.4, y -2.55…10.65, z 6.35…24.55 Å)" in line  # it named the stored axes x, y, z


# --- molmaps finer than the grid samples, or wider than the box ----------------------------------------------


def _two_atoms(tmp_path):
    """The report's case: a 64³ map of 1.5 Å voxels, one atom on a voxel centre, one between centres."""
    like = write_map(tmp_path / "g.mrc", (64, 64, 64), 1.5)
    (tmp_path / "two.pdb").write_text(
        "HETATM    1  C1  LIG A   1      48.000  48.000  48.000  1.00 30.00           C  \n"
        "HETATM    2  C2  LIG A   1      68.750  48.750  48.750  1.00 30.00           C  \nEND\n"
    )
    return like, tmp_path / "two.pdb"


def test_a_molmap_finer_than_the_grid_warns_naming_the_atoms_it_leaves_out(tmp_path):
    """--molmap 2 on 1.5 Å voxels (σ 0.45 Å) left the second atom out of the mask with exit 0 and no word."""
    like, model = _two_atoms(tmp_path)
    fine = maskrun("make-mask", tmp_path / "fine.mrc", "--from-model", model, "--like", like, "--molmap", "2")
    assert fine.returncode == 0, fine.stderr
    values = read_mask(tmp_path / "fine.mrc")[0]
    assert values[32, 32, 32] == 1 and values[32, 32, 45:48].max() == 0  # as warned: the mask is the molmap asked for
    warned = [line for line in fine.stderr.splitlines() if line.startswith("maskrun: warning:")]
    assert warned == [
        "maskrun: warning: --molmap: 2 Å is finer than the map's grid samples (2 × its voxel size, 3 Å): 1 of the 2 "
        "atoms in the box is left out of the mask (Gaussians narrower than a voxel fall below the threshold at every "
        "voxel centre); give a resolution of 3 Å or more, or --radius for spheres around the atoms"
    ]
    coarse = maskrun("make-mask", tmp_path / "coarse.mrc", "--from-model", model, "--like", like, "--molmap", "3")
    assert coarse.returncode == 0 and "warning" not in coarse.stderr, coarse.stderr
    values = read_mask(tmp_path / "coarse.mrc")[0]
    assert values[32, 32, 32] == 1 and values[32, 32, 46] == 1


def test_a_molmap_coarser_than_the_box_is_refused_naming_the_box(tmp_path):
    """500 for 5.00: it took 17 GB for minutes, or ended in a traceback (exit 1)."""
    like, model = _two_atoms(tmp_path)
    before = digest(tmp_path)
    line = refused_line(
        maskrun("make-mask", tmp_path / "m.mrc", "--from-model", model, "--like", like, "--molmap", "500")
    )
    assert line.endswith(
        "--molmap: 500 Å exceeds the map's box (96 × 96 × 96 Å, x × y × z): each atom's Gaussian (σ 113 Å) would "
        "fill it; give the resolution in Å, at most 96 (6 for 6 Å)"
    ), line
    assert digest(tmp_path) == before


# --- messages: each one line naming the option, what it holds and the fix ------------------------------------


def test_a_map_given_as_the_model_is_told_so_whatever_its_name(tmp_path):
    """Named .mrc it was told to rename itself .pdb/.cif; only under a .cif name was it told it is a map."""
    like = write_map(tmp_path / "map.mrc", (10, 10, 10), 1.0)
    before = digest(tmp_path)
    line = refused_line(maskrun("make-mask", tmp_path / "m.mrc", "--from-model", like, "--like", like, "--radius", "3"))
    assert line.endswith("map.mrc: --from-model: not a PDB/mmCIF model: it is an MRC map; give the atomic model "
                         "(.pdb, .cif) here"), line  # fmt: skip
    assert digest(tmp_path) == before


@pytest.mark.parametrize(
    "like,words",
    [
        ("m.cif", "m.cif: --like: is an atomic model, not a map; --like takes the map (3D) whose grid (box, voxel "
         "size, origin) the mask is made on, and --from-model the model: were the two swapped?"),
        ("particles.star", "particles.star: --like: is a STAR metadata file, not a map; --like takes the map (3D) "
         "whose grid (box, voxel size, origin) the mask is made on: give it the map the model was fitted in"),
    ],
)  # fmt: skip
def test_like_given_a_model_or_a_particle_set_names_the_option_and_what_it_needs(tmp_path, like, words):
    """Both were told they are no MRC image, the STAR file to give "the image or stack it lists" (then refused)."""
    write_map(tmp_path / "map.mrc", (10, 10, 10), 1.0)
    write_model(tmp_path / "m.cif", np.array([[5.0, 5.0, 5.0]]))
    (tmp_path / "particles.star").write_text("data_particles\nloop_\n_rlnImageName #1\n1@p.mrcs\n")
    model = tmp_path / ("map.mrc" if like == "m.cif" else "m.cif")  # the two swapped, or a STAR file for the map
    before = digest(tmp_path)
    line = refused_line(
        maskrun("make-mask", tmp_path / "out.mrc", "--from-model", model, "--like", tmp_path / like, "--radius", "3")
    )
    assert line.endswith(words), line
    assert digest(tmp_path) == before


@pytest.mark.parametrize(
    "placement,words",
    [
        ({}, "or check the map's origin (0, 0, 0 Å, none in its header: cropping or re-boxing may have reset it) "
         "and voxel size (1.5 Å: the model spans 3 × 2 × 1 Å, the box 15 × 15 × 15 Å)"),
        ({"origin_xyz": (30.0, -20.0, 10.0)}, "or check the map's origin (30, -20, 10 Å, its header's origin) and "
         "voxel size (1.5 Å: the model spans 3 × 2 × 1 Å, the box 15 × 15 × 15 Å)"),
        ({"nstart_xyz": (4, 0, 0)}, "or check the map's origin (6, 0, 0 Å, nxstart, nystart, nzstart × the voxel "
         "size) and voxel size (1.5 Å: the model spans 3 × 2 × 1 Å, the box 15 × 15 × 15 Å)"),
    ],
)  # fmt: skip
def test_a_model_all_outside_the_box_names_the_maps_origin_and_voxel_size(tmp_path, placement, words):
    """A map cropped with relion_image_handler --new_box (origin reset to 0) was told to fit the model, not why."""
    like = write_map(tmp_path / "map.mrc", (10, 10, 10), 1.5, **placement)
    far = write_model(tmp_path / "far.pdb", np.array([[100.0, 100.0, 100.0], [103.0, 102.0, 101.0]]))
    line = refused_line(maskrun("make-mask", tmp_path / "m.mrc", "--from-model", far, "--like", like, "--radius", "3"))
    assert "--from-model: all 2 atoms lie outside the map's box (atoms: x 100…103" in line
    assert line.endswith(f"; fit the model into the map, give the map it was built in, {words}"), line


@pytest.mark.parametrize(
    "select,fix",
    [
        ("//A", "check the chain, residue and atom names (gemmi syntax: '//A' (chain A), '//A/100-200' (its residues "
         "100-200), '//*/(ATP)' (every ATP))"),
        ("chain A", "gemmi reads 'chain A' as the name of a chain, not as words; write '//A' for chain A; gemmi "
         "syntax: '//A' (chain A), '//A/100-200' (its residues 100-200), '//*/(ATP)' (every ATP)"),
    ],
)  # fmt: skip
def test_a_selection_of_nothing_lists_the_files_chains(tmp_path, select, fix):
    """An mmCIF whose author chains are H, B, C (label_asym_id A, …): '//A' was told to check the names, no more."""
    like = write_map(tmp_path / "map.mrc", (20, 20, 20), 1.0)
    model = write_model(tmp_path / "m.cif", np.array([[4.0, 4.0, 4.0], [9.0, 9.0, 9.0], [15.0, 4.0, 4.0]]),
                        chains=["H", "B", "C"])  # fmt: skip
    line = refused_line(maskrun("make-mask", tmp_path / "out.mrc", "--from-model", model, "--like", like, "--radius",
                                "2", "--select", select))  # fmt: skip
    assert line.endswith(
        f"--select: '{select}' selects none of the 3 atoms of model 1 of m.cif, whose chains are H, B, C (author "
        f"names, as selections use); {fix}"
    ), line


@pytest.mark.parametrize(
    "radius,shown", [("-3", "-3"), ("0", "0"), ("-2 A", "'-2 A'"), ("0 px", "'0 px'"), ("nan", "nan"), ("inf", "inf")]
)
def test_a_radius_not_above_zero_is_told_one_rule(tmp_path, radius, shown):
    """-3 was told 'must be ≥ 0', then 0 'must be > 0', and '-2 A' 'a length with a unit must be positive'; nan and
    inf were told in two lines naming --from-model (a review)."""
    like = write_map(tmp_path / "map.mrc", (10, 10, 10), 1.0)
    model = write_model(tmp_path / "m.pdb", np.array([[5.0, 5.0, 5.0]]))
    line = refused_line(maskrun("make-mask", tmp_path / "o.mrc", "--from-model", model, "--like", like,
                                f"--radius={radius}"))  # fmt: skip
    assert line.endswith(f"--radius: must be a number > 0 (a length: '3 A', '2 px', 2; or 'vdw'); got {shown}"), line
