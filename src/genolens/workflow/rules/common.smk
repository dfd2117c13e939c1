# Names shared by the rules: output locations and the shard list. No logic beyond what decides the DAG.

import os
import sys

OUTDIR = config["outdir"].rstrip("/")
INPUTS = config["inputs"]
LOGS = f"{OUTDIR}/logs"

# Static scatter: split-fasta always writes exactly this many shards, so the DAG is known before the run.
SHARDS = [f"{i:03d}" for i in range(config["shards"])]

# Personal haplotypes (reference + VCF + sample sheet) turn on the per-sample statistics.
PER_SAMPLE = "vcf" in INPUTS
PHENOTYPES = config["associate"]["phenotypes"] if PER_SAMPLE else []
# A phenotype BED turns on the genotype baseline (it needs the per-sample features and the VCF).
BASELINE = PER_SAMPLE and bool(config["baseline"]["phenotypes"])
# Sequences built from a reference carry a coordinate map (sidecar .coords.tsv), split along with them.
HAS_COORDS = "reference" in INPUTS
# The optional variant-effects stage: the VCF's variants in the regions, scored and explained through the SAE.
VARIANT_EFFECTS = config["variant_effects"]["enabled"] and PER_SAMPLE and HAS_COORDS

# Jobs run the `genolens` installed beside the Python that runs Snakemake, so `.venv/bin/snakemake` works
# without activating the venv (cluster jobs re-read this file on their node and do the same).
_BIN = os.path.dirname(sys.executable)
_PATH = os.getenv("PATH", "")
if os.path.exists(os.path.join(_BIN, "genolens")) and _BIN not in _PATH.split(os.pathsep):
    os.environ.update(PATH=_BIN + os.pathsep + _PATH)

# Regions whose reference holds N: the policy of genolens sequences (its report counts every window).
GAP_OPTIONS = (
    f"--n-policy {config['sequences']['n_policy']} --max-n-fraction {config['sequences']['max_n_fraction']}"
    f" --n-min-length {config['sequences']['n_min_length']}"
)

SEQUENCES = f"{OUTDIR}/sequences/sequences.fa.gz"
COORDS = f"{OUTDIR}/sequences/sequences.coords.tsv"
# The windows built, after the N policy (trimmed or skipped ones as built): features are aggregated over them
WINDOWS = f"{OUTDIR}/sequences/sequences.windows.bed"
# Distinct haplotypes embedded once: who carries each (sequences.distinct)
DISTINCT = PER_SAMPLE and config["sequences"]["distinct"]
CARRIERS = f"{OUTDIR}/sequences/sequences.carriers.tsv"
STORE = f"{OUTDIR}/store"
SAE = f"{OUTDIR}/sae"
FEATURES = f"{OUTDIR}/stats/features.h5ad"
EIGENVEC = f"{OUTDIR}/stats/ancestry.eigenvec"
# Ancestry PCs from genome-wide genotypes when the VCF covers only the regions (inputs.ancestry_vcf)
ANCESTRY_VCF = INPUTS.get("ancestry_vcf", INPUTS.get("vcf"))
ANCESTRY_SUMMARY = f"{OUTDIR}/stats/ancestry.json"
# KING-robust kinship of the sheet's samples from the same genotypes (pairs above the cutoff; nothing removed)
KINSHIP = f"{OUTDIR}/stats/kinship"


wildcard_constraints:
    shard=r"\d{3}",
    phenotype=r"[A-Za-z0-9_.-]+",


def report_inputs():
    """Every product the report shows (and `rule all` asks for)."""
    products = [
        f"{OUTDIR}/sae_eval/eval.json",
        f"{OUTDIR}/features/dashboard",
    ]
    if PER_SAMPLE:
        products += [f"{OUTDIR}/stats/audit/audit.json", f"{KINSHIP}.king.json"]
        products += expand(f"{OUTDIR}/stats/associate/{{phenotype}}/associations.tsv", phenotype=PHENOTYPES)
    if BASELINE:
        products += [f"{OUTDIR}/stats/baseline/baseline.tsv"]
    return products


def all_products():
    """Every output worth keeping, intermediates included, all of them targets of the default target:
    delete one and a plain rerun remakes it and exactly what depends on it (a missing intermediate that
    no target names would be left missing while everything after it counts as up to date)."""
    products = [SEQUENCES, *expand(f"{OUTDIR}/shards/shard-{{shard}}.fa", shard=SHARDS)]
    if HAS_COORDS:
        products += [COORDS, *expand(f"{OUTDIR}/shards/shard-{{shard}}.coords.tsv", shard=SHARDS)]
    if config["embed"]["keep_shard_stores"]:  # else temp(): deleted once merged, on purpose
        products += expand(f"{OUTDIR}/embed/shard-{{shard}}", shard=SHARDS)
    products += [STORE, SAE, f"{OUTDIR}/sae_eval/eval.density.png", f"{OUTDIR}/features/annotate"]
    if PER_SAMPLE:
        products += [f"{OUTDIR}/sequences/check-samples.txt", f"{OUTDIR}/sequences/sequences.report.json", WINDOWS]
        products += [CARRIERS] if DISTINCT else []
        products += [FEATURES, EIGENVEC, ANCESTRY_SUMMARY, f"{OUTDIR}/stats/audit/audit.tsv", f"{KINSHIP}.kin0",
                     f"{KINSHIP}.king.json"]
        outputs = ["associate.json", "features.h5ad", "qq.png", "volcano.png"]
        if config["associate"]["stratify"]:
            outputs.append("stratified.tsv")
        products += expand(f"{OUTDIR}/stats/associate/{{phenotype}}/{{name}}", phenotype=PHENOTYPES, name=outputs)
    if BASELINE:
        products += [f"{OUTDIR}/stats/baseline/{name}" for name in ("eqtl.tsv", "baseline.json", "baseline.png")]
    if VARIANT_EFFECTS:
        products += [f"{OUTDIR}/variants/effects"]
        products += [f"{OUTDIR}/variants/variants_behind.tsv"] if BASELINE else []
    return products + report_inputs() + [f"{OUTDIR}/report.html"]


def opt(flag, value):
    """`--flag value`, or nothing when value is empty/None (optional CLI options)."""
    return f"{flag} {value}" if value not in (None, "", []) else ""


def shard_store(path):
    """Per-shard stores are temp() (removed once merged: they double the disk use) unless kept."""
    return directory(path) if config["embed"]["keep_shard_stores"] else temp(directory(path))
