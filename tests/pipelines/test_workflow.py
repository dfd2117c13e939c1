"""The Snakemake workflow: lint, the SLURM dry run, reruns after a deleted output, use as a module.

Everything here is a dry run or ``--touch`` (no model runs), so it needs neither a GPU nor a cluster.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from importlib.resources import files
from pathlib import Path

import pytest
import yaml
from testpaths import REPO

import genolens.workflow
from genolens.errors import InputFileError

PIPELINES = REPO / "pipelines"
SNAKEFILE = PIPELINES / "workflow" / "Snakefile"
DEMO = PIPELINES / "config" / "demo.yaml"
DENSE = PIPELINES / "config" / "dense.yaml"

# Every rule of the workflow (those of the per-sample statistics included, as in the demo).
ALL_RULES = {
    "check_samples", "sequences", "split_fasta", "embed", "merge_stores", "train_sae", "eval_sae", "annotate",
    "dashboard", "aggregate", "ancestry", "kinship", "associate", "baseline", "audit", "report", "all",
}


def snakemake(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    if result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def job_stats(output: str) -> Counter:
    """The 'Job stats' table of a dry run as {rule: count} (empty when nothing is to be done)."""
    counts: Counter = Counter()
    lines = output.splitlines()
    try:
        start = lines.index("Job stats:")
    except ValueError:
        return counts
    for line in lines[start + 3:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


def jobs(output: str) -> list[dict]:
    """Each job block of a dry run (``rule NAME:`` then indented ``key: value`` lines) as a dict."""
    found = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        head = re.match(r"(?:local)?rule (\w+):", block)
        if head is None:
            continue
        job = {"rule": head.group(1)}
        for key, value in re.findall(r"^    (\w+): (.*)$", block, flags=re.M):
            job[key] = value
        found.append(job)
    return found


def resources(job: dict) -> dict:
    return dict(item.split("=", 1) for item in job["resources"].split(", "))


def demo_config(tmp_path: Path, **changes) -> Path:
    """The demo config with absolute input paths, so Snakemake can run in tmp_path."""
    config = yaml.safe_load(DEMO.read_text())
    inputs = config["inputs"]
    for key in ("reference", "vcf", "sample_sheet", "regions", "jaspar"):
        inputs[key] = str(REPO / inputs[key])
    inputs["annotations"] = [str(REPO / p) for p in inputs["annotations"]]
    config["baseline"]["phenotypes"] = str(REPO / config["baseline"]["phenotypes"])
    config["outdir"] = "results"
    for section, values in changes.items():
        config[section] = {**config[section], **values} if isinstance(values, dict) else values
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


# --- (1) lint -------------------------------------------------------------------------------------------


def test_lint_flags_only_the_missing_conda_env():
    """`snakemake --lint` on the demo config: every rule has log/threads/resources, no hard-coded prefixes.

    The one lint left is "Specify a conda environment or container for each rule": the rules call the
    genolens installed with Snakemake (no conda package of genolens exists to pin yet).
    """
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--configfile", str(DEMO), "--lint"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    text = result.stdout + result.stderr
    lints = re.findall(r"^    \* (.+?):$", text, flags=re.M)
    assert lints, f"lint printed nothing recognisable:\n{text}"
    assert set(lints) == {"Specify a conda environment or container for each rule."}, text
    assert len(lints) == len(ALL_RULES) - 1  # every rule but `all`, which runs nothing


def test_dense_config_lints_and_plans_trimmed_windows_and_chromosome_wide_pcs(tmp_path):
    """The second configuration (dense data, partial reference): its inputs are in the repository, it lints
    like the demo, and its dry run asks `sequences` to trim windows over N and `ancestry` to use the
    chromosome-wide VCF rather than the 1-Mb dense one."""
    config = yaml.safe_load(DENSE.read_text())
    inputs = config["inputs"]
    for key in ("reference", "vcf", "ancestry_vcf", "sample_sheet", "regions", "jaspar"):
        assert (REPO / inputs[key]).is_file(), inputs[key]
    assert (REPO / config["baseline"]["phenotypes"]).is_file() and (REPO / config["baseline"]["cis_map"]).is_file()
    assert all((REPO / p).is_file() for p in inputs["annotations"])
    lint = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--configfile", str(DENSE), "--lint"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    lints = re.findall(r"^    \* (.+?):$", lint.stdout + lint.stderr, flags=re.M)
    assert set(lints) == {"Specify a conda environment or container for each rule."}, lint.stdout + lint.stderr
    result = snakemake("-n", "-p", "-s", "pipelines/workflow/Snakefile", "--configfile", str(DENSE),
                       "--config", f"outdir={tmp_path / 'dense'}", cwd=REPO)
    planned = {job["rule"]: job for job in jobs(result.stdout)}
    # each gene against its own windows only (baseline: cis test and genotypes of the same windows), no
    # phenotype against every window's features
    assert "associate" not in job_stats(result.stdout) and config["associate"]["phenotypes"] == []
    assert "--n-policy trim --max-n-fraction 0 --n-min-length 500" in result.stdout
    assert "--distinct --carriers" in result.stdout  # each distinct haplotype embedded once
    assert "--genotype-regions" in result.stdout and "--cis-map" in result.stdout
    assert "sequences.windows.bed" in planned["aggregate"]["input"] and "--carriers" in result.stdout
    assert inputs["ancestry_vcf"] in planned["ancestry"]["input"]
    assert inputs["vcf"] not in planned["ancestry"]["input"]
    demo = snakemake("-n", "-p", "-s", "pipelines/workflow/Snakefile", "--configfile", str(DEMO),
                     "--config", f"outdir={tmp_path / 'demo'}", cwd=REPO)
    assert "--n-policy error" in demo.stdout  # the default: a window over N stops the run, naming it


# --- (2) the SLURM profile ------------------------------------------------------------------------------


def test_slurm_dry_run_shows_sharded_embed_jobs_with_resources(tmp_path):
    """The acceptance command: the demo config on the SLURM profile, dry run, no cluster needed.

    Outputs are redirected to a fresh folder, so a finished demo in results/ does not hide the jobs.
    """
    out = tmp_path / "demo"
    result = snakemake(
        "-n", "-s", "pipelines/workflow/Snakefile", "--profile", "pipelines/profiles/slurm",
        "--configfile", "pipelines/config/demo.yaml", "--config", f"outdir={out}", cwd=REPO,
    )
    embeds = [job for job in jobs(result.stdout) if job["rule"] == "embed"]
    demo = yaml.safe_load(DEMO.read_text())
    assert sorted(job["wildcards"] for job in embeds) == [f"shard={i:03d}" for i in range(demo["shards"])]
    for job in embeds:
        res = resources(job)
        assert res["mem_mb"] == str(demo["embed"]["mem_mb"])
        assert res["runtime"] == str(demo["embed"]["runtime"])
        assert res["gpu"] == "0"
        assert res["slurm_partition"] == "gpu"  # set-resources of the profile
        assert job["output"] == f"{out}/embed/shard-{job['wildcards'][-3:]}"
    light = next(job for job in jobs(result.stdout) if job["rule"] == "report")
    assert resources(light)["slurm_partition"] == "cpu"  # default-resources of the profile
    assert job_stats(result.stdout)["embed"] == demo["shards"]


def test_slurm_dry_run_follows_the_config(tmp_path):
    """More shards give more embed jobs; GPUs and threads asked for in the config reach every shard job."""
    config = demo_config(tmp_path, shards=7, embed={"gpu": 1, "threads": 6, "mem_mb": 24000, "device": "cuda"})
    # a dry run caps the displayed threads at --cores (1 unless given); SLURM jobs get --cpus-per-task=6
    result = snakemake("-n", "--cores", "8", "-s", str(SNAKEFILE), "--profile", str(PIPELINES / "profiles" / "slurm"),
                       "--configfile", str(config), cwd=tmp_path)
    embeds = [job for job in jobs(result.stdout) if job["rule"] == "embed"]
    assert len(embeds) == 7
    for job in embeds:
        assert job["threads"] == "6"
        res = resources(job)
        assert (res["gpu"], res["mem_mb"]) == ("1", "24000")
    assert "--device cuda" in result.stdout


def test_config_is_validated(tmp_path):
    """A config the schema rejects stops the workflow before any job, naming the bad key."""
    config = demo_config(tmp_path, shards=0)
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-s", str(SNAKEFILE), "--configfile", str(config)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0
    assert "shards" in result.stdout + result.stderr
    assert "minimum" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("inputs", "shards"),
    [
        ({"fasta": "data/example/antibodies_vh.fa"}, 2),
        ({"reference": "data/example/reference/GRCh37_chr22_1-22000000.fa.gz",
          "regions": "data/example/regions.bed"}, 3),
    ],
    ids=["fasta", "reference-only"],
)
def test_inputs_without_genotypes_skip_the_per_sample_statistics(tmp_path, inputs, shards):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"inputs": {k: str(REPO / v) for k, v in inputs.items()}, "shards": shards}))
    result = snakemake("-n", "-s", str(SNAKEFILE), "--configfile", str(config), cwd=tmp_path)
    assert job_stats(result.stdout) == Counter({
        "sequences": 1, "split_fasta": 1, "embed": shards, "merge_stores": 1, "train_sae": 1, "eval_sae": 1,
        "annotate": 1, "dashboard": 1, "report": 1, "all": 1,
    })


def test_fasta_and_reference_together_are_refused(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"inputs": {"fasta": "a.fa", "reference": "r.fa", "regions": "r.bed"}}))
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-s", str(SNAKEFILE), "--configfile", str(config)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0
    assert "is not valid under any of the given schemas" in result.stdout + result.stderr


# --- (3) reruns ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A workdir whose every output exists and is up to date (made by hand, then `--touch`)."""
    workdir = tmp_path_factory.mktemp("rerun")
    config = demo_config(workdir, embed={"keep_shard_stores": True})
    plan = snakemake("-n", "-s", str(SNAKEFILE), "--configfile", str(config), cwd=workdir).stdout
    for job in jobs(plan):
        for path in job.get("output", "").split(", "):
            if not path:
                continue
            target = workdir / path
            if target.suffix:  # files: .fa, .gz, .tsv, .json, .png, .h5ad, .html
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text("stand-in\n")
            else:  # directory() outputs: stores, SAE, annotation, dashboard
                target.mkdir(parents=True, exist_ok=True)
                (target / "stand-in").write_text("stand-in\n")
    snakemake("--touch", "--cores", "1", "-s", str(SNAKEFILE), "--configfile", str(config), cwd=workdir)
    return workdir


def rerun_plan(workdir: Path) -> Counter:
    result = snakemake("-n", "-s", str(SNAKEFILE), "--configfile", str(workdir / "config.yaml"), cwd=workdir)
    return job_stats(result.stdout)


def remove(path: Path) -> None:
    if path.is_dir():
        for child in path.iterdir():
            child.unlink()
        path.rmdir()
    else:
        path.unlink()


def test_complete_run_has_nothing_to_do(finished_run):
    assert rerun_plan(finished_run) == Counter()


DOWNSTREAM_OF_SAE = {
    "train_sae": 1, "eval_sae": 1, "annotate": 1, "dashboard": 1, "aggregate": 1, "associate": 3, "audit": 1,
    "baseline": 1, "report": 1, "all": 1,
}


@pytest.mark.parametrize(
    ("deleted", "expected"),
    [
        # one shard's store: that shard only, then the gather and everything after it; not the other shards,
        # not the sequences, not the ancestry PCs
        ("results/embed/shard-002", {"embed": 1, "merge_stores": 1, **DOWNSTREAM_OF_SAE}),
        ("results/sae", DOWNSTREAM_OF_SAE),
        ("results/stats/ancestry.eigenvec",
         {"ancestry": 1, "associate": 3, "audit": 1, "baseline": 1, "report": 1, "all": 1}),
        ("results/stats/baseline/baseline.png", {"baseline": 1, "report": 1, "all": 1}),
        ("results/stats/associate/expr_PRODH/volcano.png", {"associate": 1, "report": 1, "all": 1}),
        ("results/features/annotate", {"annotate": 1, "dashboard": 1, "report": 1, "all": 1}),
        ("results/shards/shard-001.fa", {"split_fasta": 1, "embed": 4, "merge_stores": 1, **DOWNSTREAM_OF_SAE}),
    ],
)
def test_deleting_an_output_reruns_exactly_what_depends_on_it(finished_run, deleted, expected, tmp_path):
    target = finished_run / deleted
    backup = tmp_path / "backup"
    # keep a copy to restore: the fixture is shared by the cases
    subprocess.run(["cp", "-a", str(target), str(backup)], check=True)
    try:
        remove(target)
        assert rerun_plan(finished_run) == Counter(expected)
    finally:
        subprocess.run(["cp", "-a", str(backup), str(target)], check=True)
    assert rerun_plan(finished_run) == Counter()


# --- (4) the workflow inside the installed package --------------------------------------------------------


def test_snakefile_is_found_through_importlib_resources():
    path = Path(genolens.workflow.snakefile())
    assert path == Path(str(files("genolens.workflow") / "Snakefile"))
    assert path.is_file()
    for name in ("common", "sequences", "embed", "gather", "sae", "features", "stats", "report"):
        assert (path.parent / "rules" / f"{name}.smk").is_file()
    assert (path.parent / "schemas" / "config.schema.yaml").is_file()
    # the repository's pipelines/workflow is the same folder, not a copy that could drift
    assert SNAKEFILE.resolve() == path.resolve()


def test_missing_snakefile_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(genolens.workflow, "files", lambda name: tmp_path)
    with pytest.raises(InputFileError, match="no Snakefile"):
        genolens.workflow.snakefile()


def test_user_snakefile_uses_the_packaged_workflow_as_a_module(tmp_path):
    """A user's own Snakefile: `module` the installed workflow, `use rule *`, add a rule of its own."""
    demo_config(tmp_path, shards=3)
    (tmp_path / "Snakefile").write_text(
        "import genolens.workflow\n\n"
        'configfile: "config.yaml"\n\n'
        "module genolens:\n"
        "    snakefile: genolens.workflow.snakefile()\n"
        "    config: config\n\n"
        "use rule * from genolens as genolens_*\n\n"
        "rule all:\n"
        "    input: rules.genolens_report.output, 'results/extra.txt'\n"
        "    default_target: True\n\n"
        "rule extra:\n"
        "    input: rules.genolens_merge_stores.output\n"
        "    output: 'results/extra.txt'\n"
        "    log: 'results/logs/extra.log'\n"
        "    shell: 'ls {input} > {output} 2> {log}'\n"
    )
    result = snakemake("-n", "--cores", "1", cwd=tmp_path)
    counts = job_stats(result.stdout)
    assert counts["genolens_embed"] == 3
    assert counts["genolens_report"] == 1 and counts["extra"] == 1
    # schema defaults were filled in inside the module (batch_tokens is not in the demo config)
    assert "--batch-tokens 8192" in snakemake("-n", "-p", "--cores", "1", cwd=tmp_path).stdout


def test_wheel_ships_the_workflow_and_a_user_snakefile_runs_it(tmp_path):
    """Build a wheel from the sources (no network: no build isolation, no dependencies), install it into
    a folder of its own and dry-run a user's Snakefile that `module`s the workflow from that install.

    Needs the package data in pyproject.toml (``"genolens.workflow" = ["Snakefile", "rules/*.smk",
    "schemas/*.yaml"]``); without it the wheel holds only ``workflow/__init__.py``.
    """
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        (source / name).write_bytes((REPO / name).read_bytes())
    # a stale egg-info (SOURCES.txt) would leak files into the wheel and hide a missing package-data entry
    shutil.copytree(REPO / "src" / "genolens", source / "src" / "genolens",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("genolens-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    packaged = Path(genolens.workflow.workflow_dir())
    expected = {f"genolens/workflow/{p.relative_to(packaged).as_posix()}"
                for p in packaged.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert expected <= names, f"missing from the wheel: {sorted(expected - names)}"

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    work = tmp_path / "work"
    work.mkdir()
    demo_config(work, shards=2)
    (work / "Snakefile").write_text(
        "import genolens.workflow\n\n"
        'configfile: "config.yaml"\n\n'
        "module genolens:\n"
        "    snakefile: genolens.workflow.snakefile()\n"
        "    config: config\n\n"
        "use rule * from genolens as genolens_*\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import genolens.workflow as w; print(w.snakefile())"],
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where) == site / "genolens" / "workflow" / "Snakefile"
    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1"], cwd=work, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert job_stats(result.stdout)["genolens_embed"] == 2
