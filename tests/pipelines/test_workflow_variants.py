"""The optional variant-effects stage of the workflow: off by default, one job when enabled (dry runs only)."""

from __future__ import annotations

import re
import subprocess
import sys

import yaml
from test_workflow import DEMO, SNAKEFILE, demo_config, job_stats, jobs, snakemake
from testpaths import REPO


def _enabled(tmp_path):
    path = demo_config(tmp_path)
    config = yaml.safe_load(path.read_text())
    config["variant_effects"] = {"enabled": True, "width": 100, "top": 3}
    path.write_text(yaml.safe_dump(config))
    return path


def test_off_by_default():
    assert "variant_effects" not in yaml.safe_load(DEMO.read_text())
    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-s", str(SNAKEFILE), "--configfile", str(DEMO)],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "variant_effects" not in job_stats(result.stdout) and "variants_behind" not in job_stats(result.stdout)


def test_enabled_stage_is_one_job_calling_the_command(tmp_path):
    config = _enabled(tmp_path)
    result = snakemake("-n", "-p", "-s", str(SNAKEFILE), "--configfile", str(config), cwd=tmp_path)
    assert job_stats(result.stdout)["variant_effects"] == 1
    (job,) = [j for j in jobs(result.stdout) if j.get("rule") == "variant_effects"]
    assert job["output"] == "results/variants/effects"
    shell = re.search(r"genolens variant-effects [^\n]*", result.stdout).group(0)
    assert "--sae results/sae" in shell and "--labels results/features/annotate" in shell
    assert "--width 100" in shell and "--top 3" in shell
    # with the genotype baseline on (the demo has it), the variants behind each gene's features follow
    assert job_stats(result.stdout)["variants_behind"] == 1
    behind = re.search(r"genolens variants-behind [^\n]*", result.stdout).group(0)
    assert "--effects results/variants/effects" in behind and "--associations results/stats/baseline" in behind
    assert "--vcf " in behind and "--out results/variants/variants_behind.tsv" in behind
    lint = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--configfile", str(config),
                           "--lint"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    lints = set(re.findall(r"^    \* (.+?):$", lint.stdout + lint.stderr, flags=re.M))
    assert lints == {"Specify a conda environment or container for each rule."}, lint.stdout + lint.stderr
