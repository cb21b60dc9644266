"""Bad job files: each exits 2 with one line naming the file, the key path and the fix."""

from __future__ import annotations

import numpy as np
import pytest

from maskrun.cli.main import main
from maskrun.errors import UserError
from maskrun.jobs.runner import run_job

from conftest import write_mrc
from job_files import example_folder, job_with, write_job


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = example_folder(tmp_path_factory.mktemp("jobs"), particles=40)
    write_mrc(folder / "mask32.mrc", np.ones((1, 32, 32)), voxel_size=2.0)
    write_mrc(folder / "mask_px.mrc", np.ones((1, 64, 64)), voxel_size=3.0)
    (folder / "beyond.star").write_text(
        "data_\nloop_\n_rlnImageName\n000001@Extract/mic_001.mrcs\n000999@Extract/mic_001.mrcs\n"
    )
    (folder / "badref.star").write_text("data_\nloop_\n_rlnImageName\nabc@Extract/mic_001.mrcs\n")
    return folder


BAD_JOBS = [
    ("unknown-top-key", job_with(colour="red"), "colour: unknown field 'colour'"),
    (
        "misspelt-fill-key",
        job_with(fill__vlaue=3, fill__value=None),
        "fill.vlaue: unknown field 'vlaue' in fill; did you mean 'value'?",
    ),
    (
        "misspelt-shape",
        job_with(mask__geometry__shape="raised_cosin"),
        "mask.geometry.shape: unknown shape 'raised_cosin'; did you mean 'raised_cosine'?",
    ),
    (  # the README says "maps" throughout; the field is volumes
        "inputs-maps",
        job_with(inputs={"maps": "maps/class_1.mrc"}),
        "inputs.maps: unknown field 'maps' in inputs; did you mean 'volumes'?",
    ),
    (
        "inputs-map",
        job_with(inputs={"map": "maps/class_1.mrc"}),
        "unknown field 'map' in inputs; did you mean 'volumes'?",
    ),
    (
        "inputs-stack",
        job_with(inputs={"stack": "particles.star"}),
        "inputs.stack: unknown field 'stack' in inputs; did you mean 'particles'?",
    ),
    (  # a required shape misspelt: the key written is named, not only "shape is required"
        "misspelt-shape-key",
        job_with(mask__geometry={"shpe": "circular", "radius": 20}),
        "mask.geometry.shpe: unknown field 'shpe' in mask.geometry; did you mean 'shape'?",
    ),
    (
        "shape-written-as-type",
        job_with(mask__geometry={"type": "circular"}),
        "mask.geometry.type: unknown field 'type' in mask.geometry; did you mean 'shape'?",
    ),
    ("wrong-type", job_with(batch_size="many"), "batch_size: 'many' is neither a number of particles nor a size"),
    ("batch-size-zero", job_with(batch_size=0), "batch_size: 0 particles per batch; give at least 1"),
    ("batch-size-no-unit", job_with(batch_size="2 GX"), 'write e.g. 10000 or "2 GB"'),
    ("batch-size-bool", job_with(batch_size=True), "batch_size: got true, not a number; give a number of particles"),
    (
        "missing-particles-file",
        job_with(inputs__particles="nothere.star"),
        "nothere.star: inputs.particles: file not found",
    ),
    (
        "both-inputs",
        job_with(inputs__volumes=["maps/class_1.mrc"]),
        "inputs: give exactly one of particles or volumes (both given)",
    ),
    ("no-inputs", job_with(inputs__particles=None), "inputs: give exactly one of particles or volumes (neither"),
    (
        "crown-radii-swapped",
        job_with(mask__geometry={"shape": "crown", "inner_radius": 30, "outer_radius": 10}),
        "mask.geometry.outer_radius: must be at least inner_radius (inner 30 > outer 10)",
    ),
    (
        "raised-cosine-equal-radii",
        job_with(mask__geometry__outer_radius=20),
        "mask.geometry.outer_radius: must be greater than inner_radius (inner 20 = outer 20)",
    ),
    (
        "threshold-out-of-range",
        job_with(mask={"source": "projection", "projection": {"file": "mask32.mrc", "threshold": 1.5}}),
        "mask.projection.threshold: input should be less than 1 (got 1.5): the fraction of each projection's peak "
        "above which a pixel is kept",
    ),
    ("wrong-version", job_with(version=2), "version: 2 is not a job-file version this maskrun reads (it reads 1)"),
    ("missing-version", job_with(version=None), "version: is required; add 'version: 1'"),
    (
        "mask-file-wrong-size",
        job_with(mask={"source": "file", "file": "mask32.mrc"}),
        "mask.file: mask is 32 × 32 × 1 (x × y × z) but the images are 64 × 64 (x × y)",
    ),
    (
        "mask-file-wrong-pixel",
        job_with(mask={"source": "file", "file": "mask_px.mrc"}),
        "mask.file: mask voxel size 3 Å differs from the images' 2 Å",
    ),
    ("mask-file-missing-key", job_with(mask={"source": "file"}), "mask: source 'file' needs 'file: path/to/mask.mrc'"),
    (
        "index-beyond-stack",
        job_with(inputs__particles="beyond.star"),
        "rlnImageName: row 2: '000999@Extract/mic_001.mrcs' is beyond the end of mic_001.mrcs, which holds 14 images",
    ),
    (
        "bad-image-number",
        job_with(inputs__particles="badref.star"),
        "row 1: 'abc@Extract/mic_001.mrcs': the image number before '@' must be a whole number from 1",
    ),
    (
        "sphere-on-particles",
        job_with(mask__geometry={"shape": "sphere", "radius": 10}),
        "mask.geometry.shape: 'sphere' is a 3D shape but the inputs are particle images; use circular",
    ),
    (
        "circular-on-volumes",
        job_with(inputs__particles=None, inputs__volumes="maps/*.mrc", mask__geometry={"shape": "circular"}),
        "mask.geometry.shape: 'circular' is a 2D shape but the inputs are volumes; use 'sphere'",
    ),
    (
        "parameter-of-other-shape",
        job_with(mask__geometry={"shape": "crown", "inner_radius": 3, "radius": 9}),
        "mask.geometry.radius: does not apply to shape 'crown', which takes inner_radius, outer_radius",
    ),
    (
        "glob-matches-nothing",
        job_with(inputs__particles=None, inputs__volumes="maps/*.mrcx", mask__geometry={"shape": "sphere"}),
        "inputs.volumes: 'maps/*.mrcx' matches no file",
    ),
    ("bad-name", job_with(name="my job"), "name: 'my job' may use only letters, digits"),
    # the trust look: name ".." wrote particles.star, stacks/, logs/ and .snakemake/ into the job file's own folder
    (
        "dots-name",
        job_with(name=".."),
        "name: '..' would put the output in the job file's own folder (results/..), not in a folder of its own; give "
        "the name a letter or digit (my-job)",
    ),
    ("dot-name", job_with(name="."), "name: '.' would put the output in results/ itself, not in a folder of its own"),
    ("dots-only-name", job_with(name="..."), "name: '...' is dots only: its output folder, results/..., would be"),
    (
        "fill-value-with-avg",
        job_with(fill={"with": "avg", "value": 2}),
        "fill: 'value' is used only with 'with: value'",
    ),
    (
        "fill-value-beyond-float32",
        job_with(fill={"with": "value", "value": -1e39}),
        "fill.value: is beyond the range of float32 (±3.40282e+38), in which images are written; got -1e+39",
    ),
    (
        "default-outer-below-inner",
        job_with(mask__geometry={"shape": "crown", "inner_radius": 40}),
        "mask.geometry.outer_radius: -1 means N // 2 = 32 here, below inner_radius 40",
    ),
    (  # a top-level section indented under another: said so, not a did-you-mean to mask.file
        "fill-under-mask",
        job_with(mask__fill={"with": "avg"}, fill=None),
        "mask.fill: unknown field 'fill' in mask; fill belongs at the top level: unindent it",
    ),
    (
        "output-under-mask",
        job_with(mask__output={"overwrite": True}),
        "mask.output: unknown field 'output' in mask; output belongs at the top level: unindent it",
    ),
    (
        "batch-size-under-mask",
        job_with(mask__batch_size=10, batch_size=None),
        "mask.batch_size: unknown field 'batch_size' in mask; batch_size belongs at the top level: unindent it",
    ),
    (  # and the "mask: is required but missing" it explains goes unsaid
        "mask-under-inputs",
        job_with(inputs__mask={"geometry": {"shape": "circular"}}, mask=None),
        "inputs.mask: unknown field 'mask' in inputs; mask belongs at the top level: unindent it",
    ),
    (  # not also "source 'geometry' needs a 'geometry' section"
        "geometry-dedented",
        job_with(mask={"source": "geometry"}, geometry={"shape": "circular"}),
        "geometry: unknown field 'geometry'; it belongs in mask: indent it under mask:",
    ),
    (  # nor "mask: is required but missing", which the review met first, for a job of no mask: section at all
        "geometry-dedented-without-mask",
        job_with(mask=None, geometry={"shape": "circular", "radius": 5}),
        "geometry: unknown field 'geometry'; it belongs in mask: indent it under mask:",
    ),
    (
        "shape-as-a-top-level-key-without-mask",
        job_with(mask=None, circular={"radius": 5}),
        "circular: unknown field 'circular'; circular is a shape: write it in mask: as geometry: {shape: circular, "
        "radius: 5}",
    ),
    (  # nor "mask: input should be a valid dictionary (got None)"
        "mask-left-empty",
        "version: 1\nname: t\ninputs:\n  particles: particles.star\nmask:\ngeometry: {shape: circular}\n",
        "geometry: unknown field 'geometry'; it belongs in mask: indent it under mask:",
    ),
    (
        "fill-a-word",
        job_with(fill="avg"),
        "fill: is a section, not a value: write fill: {with: avg} (its keys: with, value, seed)",
    ),
    ("fill-a-number", job_with(fill=5), "fill: is a section, not a value: write fill: {with: value, value: 5}"),
    (
        "inputs-a-path",
        job_with(inputs="particles.star"),
        "inputs: is a section, not a value: write inputs: {particles: particles.star} (its keys: particles, volumes, "
        "image_column, ",
    ),
    ("mask-a-path", job_with(mask="mask32.mrc"), "write mask: {source: file, file: mask32.mrc}"),
    ("mask-a-shape", job_with(mask="circular"), "write mask: {geometry: {shape: circular}}"),
    ("geometry-a-shape", job_with(mask__geometry="circular"), "write geometry: {shape: circular}"),
    (
        "fill-left-empty",
        "version: 1\nname: t\ninputs:\n  particles: particles.star\nmask:\n  geometry: {shape: circular}\nfill:\n",
        "fill: is empty; indent its keys (with, value, seed) under fill:, or leave fill out",
    ),
    (  # a shape's name as a key: was a traceback (IndexError) for one at the top level
        "shape-as-a-key",
        job_with(mask={"circular": {"radius": 20}}),
        "mask.circular: unknown field 'circular' in mask; circular is a shape: write it as geometry: {shape: "
        "circular, radius: 20}",
    ),
    (
        "shape-as-a-top-level-key",
        job_with(mask__geometry=None, circular={"radius": 20}),
        "circular: unknown field 'circular'; circular is a shape: write it in mask: as geometry: {shape: circular, "
        "radius: 20}",
    ),
    (
        "xmipp-substitute",
        job_with(fill={"substitute": "avg"}),
        "fill.substitute: unknown field 'substitute' in fill; Xmipp's substitute is fill.with here: with: avg",
    ),
    (
        "xmipp-substitute-a-number",
        job_with(fill={"substitute": 5}),
        "Xmipp's substitute is fill.with here: with: value and value: 5",
    ),
    (
        "xmipp-substitute-at-the-top",
        job_with(fill=None, substitute="max"),
        "substitute: unknown field 'substitute'; Xmipp's substitute is fill.with here: fill: {with: max}",
    ),
    (
        "fill-with-a-number",
        job_with(fill={"with": 5}),
        "fill.with: '5' is not one of value, min, max, avg, noise, background; to give the value 5: with: value and "
        "value: 5",
    ),
    (  # a field named _px counts pixels: a length in Å there is told how to convert, not "unable to parse"
        "map-extend-in-angstrom",
        job_with(mask={"source": "map", "map": {"file": "maps/class_1.mrc", "threshold": 0.1, "extend_px": "20 A"}}),
        "mask.map.extend_px: '20 A' is in Å, but extend_px counts pixels: give 10, 20 Å at 2 Å/px",  # the data's
    ),
    (
        "expression-extend-in-angstrom",
        job_with(
            mask={
                "source": "expression",
                "expression": {"all_of": [{"map": {"file": "maps/class_1.mrc", "threshold": 0.1}}], "extend_px": "2Å"},
            }
        ),
        "mask.expression.extend_px: '2Å' is in Å, but extend_px counts pixels",
    ),
    (  # a field named _px counts pixels; a number in Å on one named _angstrom is told its number in Å
        "projection-soft-edge-in-angstrom",
        job_with(mask={"source": "projection", "projection": {"file": "mask32.mrc", "soft_edge_px": "6 A"}}),
        "mask.projection.soft_edge_px: '6 A' is in Å, but soft_edge_px counts pixels: give 3, 6 Å at 2 Å/px",
    ),
    (
        "map-lowpass-in-pixels",
        job_with(
            mask={"source": "map", "map": {"file": "maps/class_1.mrc", "threshold": 0.1, "lowpass_angstrom": "5 px"}}
        ),
        "mask.map.lowpass_angstrom: '5 px' is in px, but lowpass_angstrom is in Å: give 10, 5 px at 2 Å/px",
    ),
    (  # a fixed mask is saved as mask.mrc: save_masks asked for it silently did nothing
        "save-masks-of-a-fixed-shape",
        job_with(output={"save_masks": True}),
        "output.save_masks: only masks made for each particle — mask.source: projection or mask.follow — are saved "
        "per particle; the mask applied is saved as mask.mrc already: remove save_masks",
    ),
    (
        "save-masks-of-a-mask-file",
        job_with(mask={"source": "file", "file": "mask32.mrc"}, output={"save_masks": True}),
        "output.save_masks: only masks made for each particle",
    ),
    (
        "save-masks-of-a-map-job",
        job_with(
            inputs={"volumes": ["maps/class_1.mrc"]},
            mask={"geometry": {"shape": "sphere"}},
            output={"save_masks": True},
        ),
        "output.save_masks: only masks made for each particle",
    ),
    (  # PyYAML's "found character '\\t' that cannot start any token; check indentation and colons"
        "tab-indents",
        "version: 1\nname: t\ninputs:\n\tparticles: particles.star\n",
        "bad.yaml: a tab indents line 4: YAML indents with spaces; replace the tab with spaces",
    ),
    (
        "tab-separates",
        "version: 1\nname: t\ninputs:\n  particles:\tparticles.star\n",
        "bad.yaml: line 4 holds a tab (column 13): YAML separates with spaces; replace it with a space",
    ),
    (  # YAML keeps the last silently: radius 80 was masked
        "key-given-twice",
        "version: 1\nname: t\ninputs:\n  particles: particles.star\nmask:\n  geometry: {shape: circular, radius: 40}\n"
        "  geometry: {shape: circular, radius: 80}\n",
        "bad.yaml: mask.geometry: is given twice (lines 6 and 7), and YAML would keep only the last; keep one",
    ),
    (
        "key-given-twice-on-a-line",
        "version: 1\nname: t\ninputs: {particles: particles.star, particles: p.star}\n",
        "inputs.particles: is given twice on line 3, and YAML would keep only the last; keep one",
    ),
    ("yaml-syntax", "version: 1\nname: t\ninputs:\n  particles: [a.star\n", "is not valid YAML"),
    ("not-a-mapping", "- just\n- a list\n", "must be a YAML mapping of keys"),
]


@pytest.mark.parametrize("job,message", [c[1:] for c in BAD_JOBS], ids=[c[0] for c in BAD_JOBS])
def test_bad_job_exits_2_with_one_line(capsys, data, job, message):
    from commands import digest

    path = write_job(data, job, "bad.yaml")
    before = digest(data)
    assert main(["validate", str(path)]) == 2
    assert digest(data) == before  # every input as it was
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"maskrun validate: error: {data}")  # names the job file or the input at fault
    assert message in err[0]
    assert not (data / "results").exists()


def test_every_problem_of_a_job_is_listed(capsys, data):
    path = write_job(data, job_with(batch_size=0, fill__value=None, fill__vlaue=1, compat="relion"), "bad.yaml")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3
    assert [line.split(": ")[3] for line in err] == ["fill.vlaue", "batch_size", "compat"]


def test_running_a_bad_job_writes_nothing(data):
    path = write_job(data, job_with(inputs__particles="beyond.star"), "bad.yaml")
    with pytest.raises(UserError, match="beyond the end"):
        run_job(path)
    assert not (data / "results").exists()


def test_valid_job_validates(capsys, data):
    path = write_job(data, job_with(), "good.yaml")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "40 particles (RELION STAR, 3 stacks), box 64 x 64 px, 2 Å/px" in out
    assert "2 batches" in out and not (data / "results").exists()


@pytest.mark.parametrize(
    "mask,words",
    [
        (  # a misspelt required key: one line, the typo and its fix, not also "threshold is missing"
            {"source": "map", "map": {"file": "maps/class_1.mrc", "treshold": 0.3}},
            "mask.map.treshold: unknown field 'treshold' in mask.map; did you mean 'threshold'?",
        ),
        (  # inside an expression's terms, as at the top
            {
                "source": "expression",
                "expression": {"all_of": [{"map": {"file": "maps/class_1.mrc", "treshold": 0.3}}]},
            },
            "mask.expression.all_of.0.map.treshold: unknown field 'treshold' in mask.expression.all_of.0.map; "
            "did you mean 'threshold'?",
        ),
        (  # a term's shape, required, misspelt
            {"source": "expression", "expression": {"all_of": [{"geometry": {"shpe": "sphere"}}]}},
            "mask.expression.all_of.0.geometry.shpe: unknown field 'shpe' in mask.expression.all_of.0.geometry; "
            "did you mean 'shape'?",
        ),
    ],
)
def test_a_misspelt_key_is_one_line_with_its_fix_at_any_depth(tmp_path, capsys, mask, words):
    from maskrun.jobs.examples import write_example_maps

    from job_files import validate_refuses

    write_example_maps(tmp_path, n_maps=1)
    job = {"version": 1, "name": "t", "inputs": {"volumes": "maps/class_1.mrc"}, "mask": mask}
    assert validate_refuses(write_job(tmp_path, job), capsys).endswith(words)


def test_a_set_without_a_pixel_size_validates_saying_so(capsys, tmp_path):
    from conftest import write_mrc

    write_mrc(tmp_path / "bare.mrcs", np.zeros((4, 32, 32), np.float32), voxel_size=0.0)
    path = write_job(tmp_path, job_with(inputs__particles="bare.mrcs", mask__geometry={"shape": "circular"}))
    assert main(["validate", str(path)]) == 0
    assert "4 particles (bare stack, 1 stack), box 32 x 32 px, pixel size unknown" in capsys.readouterr().out


def test_a_field_written_one_level_too_far_out_is_told_where_it_belongs(capsys, tmp_path):
    job = job_with(mask__geometry={"radius": 5})
    job["mask"]["shape"] = "circular"  # as an unindented line gives it
    path = write_job(tmp_path, job)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "mask.shape: unknown field 'shape' in mask; it belongs in mask.geometry: indent it under geometry:" in err


@pytest.mark.parametrize(("written", "meant"), [("mean", "avg"), ("maximum", "max")])
def test_a_choice_given_by_its_usual_other_name_is_told_maskruns_name(capsys, tmp_path, written, meant):
    path = write_job(tmp_path, job_with(fill__with=written))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"fill.with: '{written}' is not one of" in err and f"did you mean '{meant}'?" in err


def test_a_length_in_angstrom_names_the_map_of_a_set_without_a_pixel_size(capsys, tmp_path):
    from conftest import write_mrc

    write_mrc(tmp_path / "a.mrc", np.zeros((16, 16, 16), np.float32), voxel_size=1.5)
    write_mrc(tmp_path / "b.mrc", np.zeros((16, 16, 16), np.float32), voxel_size=0.0)
    job = {"version": 1, "name": "g", "inputs": {"volumes": "*.mrc"}}
    job["mask"] = {"geometry": {"shape": "sphere", "radius": "10 A"}}
    assert main(["validate", str(write_job(tmp_path, job))]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        f"{tmp_path / 'b.mrc'}: mask.geometry.radius: is given in Å, but the data's pixel size is "
        "unknown (0 in the header and the metadata); give it in pixels"
    )


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("dir: ~\n", "output.dir: is empty: YAML reads a bare ~ (or nothing) as no value, not the home folder; give a"),
        ("dir:\n", "output.dir: is empty: YAML reads a bare ~ (or nothing) as no value"),
        ("dir: $MASKRUN_TEST_UNSET/out\n", "output.dir: '$MASKRUN_TEST_UNSET/out' names $MASKRUN_TEST_UNSET, which is"),
        ("dir: ''\n", "output.dir: is empty; give a folder"),
        (
            "dir: '~nosuchuser_maskrun/x'\n",
            "output.dir: '~nosuchuser_maskrun/x' begins with ~nosuchuser_maskrun, the home",
        ),
    ],
    ids=["tilde", "nothing", "unset", "empty text", "unknown user"],
)
def test_an_output_dir_that_would_silently_be_another_folder_is_refused(capsys, monkeypatch, tmp_path, output, message):
    """`dir: ~` is YAML's null (the default folder was taken in silence); an unset $VAR would name a folder '$VAR'."""
    from job_files import validate_refuses

    monkeypatch.delenv("MASKRUN_TEST_UNSET", raising=False)
    example_folder(tmp_path, particles=20, maps=0)
    (tmp_path / "job.yaml").write_text(
        "version: 1\nname: t\ninputs:\n  particles: particles.star\n"
        "mask:\n  source: geometry\n  geometry: {shape: circular, radius: 20}\n"
        f"output:\n  {output}"
    )
    line = validate_refuses(tmp_path / "job.yaml", capsys)
    assert line.startswith(f"maskrun validate: error: {tmp_path / 'job.yaml'}: {message}"), line
    assert not (tmp_path / "results").exists()


def test_paths_expand_home_and_environment_variables(capsys, monkeypatch, tmp_path):
    """`output.dir: $HOME/x` made a folder named '$HOME'; inputs and outputs now read ~ and $VAR as a shell does."""
    from maskrun.config.job_file import load_job
    from maskrun.jobs.plan import plan_job

    data = example_folder(tmp_path / "data", particles=20, maps=2)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MASKRUN_TEST_DATA", str(data))
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    particles = write_job(jobs, job_with(inputs__particles="$MASKRUN_TEST_DATA/particles.star", output__dir="$HOME/x"))
    job = load_job(particles)
    assert job.output_dir == home / "x"
    assert job.resolve(job.spec.inputs.particles) == data / "particles.star"
    plan = plan_job(job)
    assert plan.particles is not None and len(plan.particles.image_index) == 20
    maps = job_with(
        inputs__particles=None,
        inputs__volumes="${MASKRUN_TEST_DATA}/maps/*.mrc",
        mask__geometry={"shape": "sphere", "radius": 20},
        output__dir="~/maps-out",
    )
    job = load_job(write_job(jobs, maps, "maps.yaml"))
    assert job.output_dir == home / "maps-out"
    volumes = plan_job(job).volumes
    assert volumes is not None and [m.path.parent for m in volumes.maps] == [data / "maps"] * 2
    assert main(["validate", str(particles)]) == 0
    assert not (jobs / "$HOME").exists() and not (jobs / "~").exists()


def test_a_doubled_dollar_is_a_literal_dollar_in_a_path(monkeypatch, tmp_path):
    """A folder named with a `$` (`$5`) could not be written at all: `$$` is a literal `$`, and names no variable."""
    from maskrun.config.job_file import load_job
    from maskrun.config.path_text import expand_path, unset_variable

    monkeypatch.setenv("MASKRUN_TEST_DATA", "/data")
    monkeypatch.delenv("MASKRUN_TEST_UNSET", raising=False)
    assert expand_path("runs/$$5") == "runs/$5"
    assert expand_path("$$$MASKRUN_TEST_DATA/$$$$") == "$/data/$$"
    assert expand_path("$$MASKRUN_TEST_DATA") == "$MASKRUN_TEST_DATA"
    assert unset_variable("$$MASKRUN_TEST_UNSET") is None
    assert unset_variable("$$$MASKRUN_TEST_UNSET") == "$MASKRUN_TEST_UNSET"
    example_folder(tmp_path, particles=20, maps=0)
    job = load_job(write_job(tmp_path, job_with(output__dir="runs/$$5")))
    assert job.output_dir == tmp_path / "runs" / "$5"


def test_a_dollar_in_a_path_is_refused_on_a_cluster_whose_shell_would_read_it(capsys, tmp_path):
    """The review: on SLURM `runs/$$5` failed every job (sbatch --wrap's shell read $5); refused before any work."""
    example_folder(tmp_path, particles=20, maps=0)
    job = write_job(tmp_path, job_with(output__dir="runs/$$5"))
    assert main(["run", str(job), "--profile", "slurm", "--dry-run"]) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line == (
        f"maskrun run: error: {tmp_path / 'runs' / '$5'}: has a '$' in its path, which the shell the slurm executor "
        "runs each job in reads as a variable; rename the folder, or run this job locally (without --profile)"
    )
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("name", "rows", "inputs"),
    [  # the review's volumes.star was told inputs: {particles: volumes.star}
        ("volumes.star", "maps/class_1.mrc\n", "as inputs: {volumes: volumes.star} (maskrun example volumes prints"),
        ("volumes.sqlite", None, "as inputs: {volumes: volumes.sqlite} (maskrun example volumes prints"),
        (
            "run_data.star",
            "000001@Extract/a.mrcs\n",
            "as inputs: {particles: run_data.star} (maskrun example particles",
        ),
        (
            "maps.xmd",
            "maps/class_1.mrc\n",
            "as inputs: {particles: maps.xmd}, or inputs: {volumes: maps.xmd} if it lists maps (maskrun example "
            "particles, or volumes, prints a starter job)",
        ),
    ],
)
def test_a_listing_given_where_the_job_goes_is_told_as_particles_or_maps_by_what_it_holds(
    capsys, tmp_path, name, rows, inputs
):
    path = tmp_path / name
    if rows is None:
        path.write_bytes(b"SQLite format 3\x00")
    else:
        path.write_text(f"data_\nloop_\n_rlnImageName\n{rows}")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{path}: is " in err[0] and inputs in err[0]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        (
            "particles.star",
            "is a RELION STAR file, not a job: a job is a YAML file naming it, as inputs: {particles: "
            "particles.star} (maskrun example particles prints a starter job)",
        ),
        ("set.cs", "is a cryoSPARC .cs file, not a job: a job is a YAML file naming it, as inputs: {particles: set.cs"),
        ("set.xmd", "is an Xmipp XMD file, not a job"),
        ("set.sqlite", "is a Scipion set file, not a job"),
        (
            "Extract/mic_001.mrcs",
            "is a stack of particle images, not a job: a job is a YAML file naming it, as "
            "inputs: {particles: mic_001.mrcs} (maskrun example particles prints a starter job; or mask it at once: "
            "maskrun mask mic_001.mrcs OUT.mrcs --shape circular ...)",
        ),
        (
            "maps/class_1.mrc",
            "is an image file (a map), not a job: a job is a YAML file naming it, as inputs: "
            "{volumes: class_1.mrc} (maskrun example volumes prints a starter job; or mask it at once: maskrun mask "
            "class_1.mrc OUT.mrc --shape sphere ...)",
        ),
        # every name the image readers take for a map (io's MRC and SPIDER suffixes), not a list of its own
        ("tomo.rec", "is an image file (a map), not a job: a job is a YAML file naming it, as inputs: {volumes: "),
        ("vol.xmp", "is an image file (a map), not a job"),
        ("vol.MAP.gz", "is an image file (a map), not a job"),
        # IMOD's tilt series are MRC stacks of tilt images: not a map to mask with a sphere (which masked the tilt
        # images as one volume), nor a job's input; their images are masked as a stack
        (
            "tilt.st",
            "is an IMOD tilt series (MRC stack), not a job; a job masks particle sets and maps, not tilt series: mask "
            "its tilt images one by one as a stack: maskrun mask tilt.st OUT.st --input-kind stack --shape "
            "circular ...",
        ),
        ("tilt.ali", "is an IMOD tilt series (MRC stack), not a job; a job masks particle sets and maps, not tilt"),
        (
            "ts.st.gz",
            "is an IMOD tilt series (MRC stack), not a job; a job masks particle sets and maps, not tilt "
            "series: mask its tilt images one by one as a stack: maskrun mask ts.st.gz OUT.st --input-kind stack",
        ),
    ],
)
@pytest.mark.parametrize("command", ["run", "validate", "report"])
def test_data_given_where_the_job_goes_is_told_what_it_is(capsys, data, name, words, command):
    """A STAR file given as the job was 'line 8: is not valid YAML'; a .cs or an MRC file 'not UTF-8 text'."""
    from commands import digest

    path = data / name
    if not path.exists():
        path.write_bytes(b"\x93NUMPY\x01\x00v\x00")  # as a .cs begins: no text
    before = digest(data)
    assert main([command, str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"maskrun {command}: error: {path}: {words}")
    assert digest(data) == before


def test_a_wrong_choice_is_not_told_to_give_another_settings_field(capsys, data):
    """A helical user's `follow: turn` was told 'to give the file turn: source: file and file: turn'."""
    job = job_with(mask={"source": "geometry", "geometry": {"shape": "circular", "radius": 5}, "follow": "turn"})
    assert main(["validate", str(write_job(data, job, "bad.yaml"))]) == 2
    assert capsys.readouterr().err.strip().endswith("mask.follow: 'turn' is not one of offsets, pose")


SHAPE5 = "{shape: circular, radius: 5}"


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        (f"mask: {{geometry: {SHAPE5}, follow: true}}", "mask.follow: 'true' is not one of offsets, pose"),
        (f"mask: {{geometry: {SHAPE5}, follow: yes}}", "mask.follow: 'true' is not one of offsets, pose"),  # YAML 1.1
        (f"mask: {{geometry: {SHAPE5}}}\ncompat: no", "compat: 'false' is not one of maskrun, xmipp"),
        ("mask: {geometry: {shape: true}}", "mask.geometry.shape: unknown shape 'true' (shapes: circular"),
        (f"mask: {{geometry: {SHAPE5}}}\nfill: {{with: null}}", "fill.with: 'null' is not one of value, min, max"),
        (f"mask: {{geometry: {SHAPE5}}}\nfill: false", "fill: is a section, not a value (false); give its"),
        (f"mask: {{geometry: {SHAPE5}}}\nfill: {{with: true}}", "fill.with: 'true' is not one of value, min, max, avg"),
        ("mask: true", "mask: is a section, not a value (true); give its keys: source, geometry"),
        (
            "mask:\n  source: expression\n  expression: {all_of: [{model: {file: a.pdb, extend: true}}]}",
            "mask.expression.all_of.0.model.extend: got true, not a number; give a length in px, '12 px' or '42 A'",
        ),
    ],
)
def test_a_yaml_boolean_is_echoed_as_the_job_file_writes_it(capsys, tmp_path, setting, words):
    """A RELION user's look: ``follow: true`` was echoed as 'True is not one of offsets, pose', a word no job file
    holds; YAML's true, false and null are echoed as written (yes and no are YAML 1.1's true and false). A boolean
    is not proposed as a number either (``fill.with: true`` was told "to give the value True: with: value and value:
    true")."""
    text = f"version: 1\nname: t\ninputs: {{particles: particles.star}}\n{setting}\n"
    assert main(["validate", str(write_job(tmp_path, text))]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert any(words in line for line in lines), lines
    assert not any(word in line for line in lines for word in ("True", "False", "None", "value and value"))


def test_a_job_file_not_found_names_the_job_files_of_its_folder(capsys, tmp_path):
    """A RELION user's look: ``maskrun example projection --write demo-projection`` writes projection.yaml, and
    ``maskrun run demo-projection/particles.yaml`` (as the README's other examples run) said only "job file not
    found; check the path". The folder's job files are named (a folder given as the job, too)."""
    from maskrun.jobs.examples import write_example

    folder = tmp_path / "demo-projection"
    write_example("projection", folder)
    said = {}
    for given in (folder / "particles.yaml", folder, tmp_path / "nowhere" / "job.yaml", tmp_path):
        assert main(["run", str(given)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        said[given] = err[0].removeprefix(f"maskrun run: error: {given}: ")
    assert said[folder / "particles.yaml"] == "job file not found; check the path: that folder has projection.yaml"
    assert said[folder] == "is a folder, not a job file; give its job file: projection.yaml"
    starter = "(maskrun example particles prints a starter job)"
    assert said[tmp_path / "nowhere" / "job.yaml"] == f"job file not found; check the path {starter}"
    assert said[tmp_path] == f"is a folder, not a job file; give a job file {starter}"  # (no job file in it)
    for name in ("a.yaml", "b.yml", "c.yaml", "d.yaml", "e.yaml", "notes.txt"):
        (tmp_path / name).write_text("")
    assert main(["validate", str(tmp_path / "job.yaml")]) == 2
    five = "job file not found; check the path: that folder has a.yaml, b.yml, c.yaml, d.yaml and 1 more"
    assert capsys.readouterr().err.strip().endswith(five)
