"""Benchmark: vectorised OLS association scan against a statsmodels loop, in the same run.

Default size: 10,000 features x 50,000 samples x 12 covariates (plus intercept),
timed two ways so memory stays bounded (the full float64 matrix would be 4 GB):

- float64 features generated in chunks over features (``--chunk`` at a time),
  each chunk scanned by ``ols_scan``; only the scans are timed;
- float32 features held in memory at once (2 GB); one ``ols_scan`` call that
  also pays for the conversion to float64, block by block.

The statsmodels baseline fits ``OLS(y, [covariates, feature]).fit()`` and reads
``params``, ``bse`` and ``pvalues`` for ``--subset`` features; its time is
extrapolated linearly to all features. Not part of the test suite: it prints
numbers and never asserts on time.

    python benchmarks/associate.py [--features 10000] [--samples 50000] [--covariates 12] [--subset 20]

Both sides run with the same number of BLAS threads (``--threads``, default 1:
on a shared machine, spinning BLAS threads make timings erratic).

``--cis``: cis mapping against tensorQTL's ``map_cis`` on the same matrices, from the repository's real
data (GEUVADIS chr22 expression, 1000 Genomes genotype dosages within ``--window`` of each TSS as the
features, 5 genotype PCs as covariates). tensorQTL lives in its own environment (its torch must not
touch the project's); point ``--tensorqtl-python`` at it:

    python3 -m venv .venv-tqtl && .venv-tqtl/bin/pip install torch==2.13.0 tensorqtl pandas-plink
    python benchmarks/associate.py --cis --tensorqtl-python .venv-tqtl/bin/python

Both use the same permutations (tensorQTL's, drawn from ``np.random.seed``); it prints the largest
difference of log10 nominal p-values of the best feature, of the beta-approximated p-values, and the
time of each (tensorQTL's own timer excludes its start-up and reading the inputs; ours too).

tensorQTL computes in float32 (its ``torch.float`` is hard-coded), which alone moves its nominal
p-values by up to about 1e-5 relative on these data. So it is run twice: as it ships (timed against
ours), and with ``torch.float``/``torch.float32`` pointed at float64 inside its process. Both runs and
genolens are compared with an exact reference, statsmodels ``OLS`` in float64, on each gene's best
feature: genolens and the float64 tensorQTL agree with it, and with each other, to about 1e-13; the
shipped float32 tensorQTL to its float32 rounding.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import statsmodels.api as sm
from threadpoolctl import threadpool_limits

from genolens.stats.ols import ols_scan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--covariates", type=int, default=12)
    parser.add_argument("--subset", type=int, default=20, help="features fitted by the statsmodels loop")
    parser.add_argument("--chunk", type=int, default=2_000, help="features per float64 chunk")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads for both sides (0: library default)")
    parser.add_argument("--cis", action="store_true", help="cis mapping against tensorQTL instead")
    parser.add_argument("--tensorqtl-python", default=".venv-tqtl/bin/python", help="python with tensorqtl")
    parser.add_argument("--window", type=int, default=1_000_000, help="--cis: bp either side of the TSS")
    parser.add_argument("--permutations", type=int, default=1000, help="--cis: permutations per gene")
    args = parser.parse_args()
    job = run_cis if args.cis else run
    if args.threads > 0:
        with threadpool_limits(limits=args.threads):
            job(args)
    else:
        job(args)


TENSORQTL_SCRIPT = """
import json, sys, time
import numpy as np, pandas as pd, torch
torch.set_num_threads(int(sys.argv[2]))
precision = sys.argv[3]
if precision == "float64":  # tensorQTL hard-codes torch.float / torch.float32; point both at float64
    torch.float = torch.float32 = torch.float64
from tensorqtl import cis
d = sys.argv[1]
samples = open(f"{d}/samples.txt").read().split()
genotype_df = pd.DataFrame(np.load(f"{d}/dosages.npy"), columns=samples)
variant_df = pd.read_csv(f"{d}/variants.tsv", sep="\\t", index_col=0)
genotype_df.index = variant_df.index
phenotype_df = pd.read_csv(f"{d}/phenotypes.tsv", sep="\\t", index_col=0)
phenotype_pos_df = pd.read_csv(f"{d}/phenotype_pos.tsv", sep="\\t", index_col=0)
covariates_df = pd.read_csv(f"{d}/covariates.tsv", sep="\\t", index_col=0)
args = json.loads(open(f"{d}/args.json").read())
t0 = time.perf_counter()
res = cis.map_cis(genotype_df, variant_df, phenotype_df, phenotype_pos_df, covariates_df=covariates_df,
                  nperm=args["nperm"], window=args["window"], seed=args["seed"], verbose=False)
elapsed = time.perf_counter() - t0
res.to_csv(f"{d}/tensorqtl_{precision}.tsv", sep="\\t")
print(json.dumps({"seconds": elapsed}))
"""


def run_cis(args: argparse.Namespace) -> None:
    """genolens cis_map against tensorQTL map_cis on real GEUVADIS / 1000 Genomes matrices."""
    import pandas as pd

    from genolens.cohort.ancestry import PCAConfig, genotype_pcs, read_dosages
    from genolens.cohort.phenotype_bed import read_phenotype_bed
    from genolens.stats.baseline import variant_windows
    from genolens.stats.cis import CisConfig, cis_map

    root = Path(__file__).resolve().parents[1] / "data" / "example"
    bed = read_phenotype_bed(root / "expression" / "GEUVADIS_EUR373_chr22_16-22Mb_expression.bed.gz")
    dosages, samples, sites = read_dosages(root / "genotypes" / "1kg_phase1_v3_chr22_thinned19773_1092samples.vcf.gz")
    common = [s for s in samples if s in bed.values.index]
    cols = [samples.index(s) for s in common]
    g = dosages[:, cols]
    keep = np.isfinite(g).all(axis=1) & (g.std(axis=1) > 0)
    g, sites = g[keep], sites[keep].reset_index(drop=True)
    pcs = genotype_pcs(
        g,
        samples=common,
        config=PCAConfig(n_pcs=5),
        positions=sites["pos"].to_numpy(),
        contigs=sites["contig"].to_numpy(),
    ).pcs
    pos = sites["pos"].to_numpy()
    groups = variant_windows(sites, bed.positions, window=args.window)  # tensorQTL's TSS: the BED end
    ids = [f"{c}_{p}_{i}" for c, p, i in zip(sites["contig"], pos, range(len(pos)), strict=True)]
    phen = bed.values.loc[common, list(groups)]
    print(
        f"cis: {len(common)} samples, {len(groups)} genes, {g.shape[0]:,} variants, window ±{args.window:,}, "
        f"{args.permutations} permutations, 5 PCs"
    )
    covs = np.column_stack([np.ones(len(common)), pcs.to_numpy()])
    t0 = time.perf_counter()
    from genolens.stats.screen import VariationThresholds

    ours = cis_map(
        g.T,
        feature_names=ids,
        phenotypes=phen,
        groups=groups,
        reduced=covs[:, :1],
        full=covs,
        # tensorQTL tests every variant (no minor-allele-count filter): so does genolens here
        config=CisConfig(n_permutations=args.permutations, seed=0, variation=VariationThresholds(min_varying=0)),
    )
    ours_s = time.perf_counter() - t0
    print(f"genolens cis_map: {ours_s:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        np.save(d / "dosages.npy", g.astype(np.float32))
        (d / "samples.txt").write_text("\n".join(common))
        pd.DataFrame({"chrom": sites["contig"].astype(str).to_numpy(), "pos": pos}, index=ids).to_csv(
            d / "variants.tsv", sep="\t"
        )
        phen.T.to_csv(d / "phenotypes.tsv", sep="\t")
        bed.positions.loc[list(groups)].rename(columns={"end": "pos"})[["chr", "pos"]].to_csv(
            d / "phenotype_pos.tsv", sep="\t"
        )
        pcs.to_csv(d / "covariates.tsv", sep="\t")
        (d / "args.json").write_text(json.dumps({"nperm": args.permutations, "window": args.window, "seed": 0}))
        (d / "run.py").write_text(TENSORQTL_SCRIPT)
        threads = str(max(args.threads, 1))
        runs = {}
        for precision in ("float32", "float64"):
            out = subprocess.run(
                [args.tensorqtl_python, str(d / "run.py"), str(d), threads, precision],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                sys.exit(f"tensorQTL ({precision}) failed:\n{out.stderr[-3000:]}")
            runs[precision] = (
                json.loads(out.stdout.strip().splitlines()[-1])["seconds"],
                pd.read_csv(d / f"tensorqtl_{precision}.tsv", sep="\t", index_col=0),
            )
    theirs_s, theirs = runs["float32"]
    print(
        f"tensorQTL map_cis (CPU, torch threads {threads}, its own float32): {theirs_s:.2f} s; "
        f"patched to float64: {runs['float64'][0]:.2f} s"
    )
    mine = ours.table.set_index("phenotype_id").loc[theirs.index]
    # the exact reference: statsmodels OLS(y ~ 1 + PCs + best feature) in float64, for each gene's best feature
    column = {name: j for j, name in enumerate(ids)}
    exact = np.array(
        [
            sm.OLS(phen[gene].to_numpy(), np.column_stack([covs, g[column[best]]])).fit().pvalues[-1]
            for gene, best in zip(mine.index, mine["feature_id"], strict=True)
        ]
    )
    for label, p in (
        ("genolens", mine["pval_nominal"].to_numpy()),
        ("tensorQTL float32", theirs["pval_nominal"].to_numpy()),
        ("tensorQTL float64", runs["float64"][1].loc[mine.index, "pval_nominal"].to_numpy()),
    ):
        print(
            f"nominal p of the best feature, {label} vs statsmodels: max relative difference "
            f"{np.abs(p / exact - 1).max():.2e}"
        )
    theirs64 = runs["float64"][1].loc[mine.index]
    rel64 = {k: np.abs(mine[k].to_numpy() / theirs64[k].to_numpy() - 1).max() for k in ("pval_nominal", "pval_beta")}
    print(
        f"genolens vs tensorQTL float64: nominal p max relative {rel64['pval_nominal']:.2e}; "
        f"beta p max relative {rel64['pval_beta']:.2e}"
    )
    same_num = (mine["num_var"].to_numpy() == theirs["num_var"].to_numpy()).all()
    same_best = (mine["feature_id"].to_numpy() == theirs["variant_id"].to_numpy()).mean()
    dlog = np.abs(np.log10(mine["pval_nominal"].to_numpy()) - np.log10(theirs["pval_nominal"].to_numpy()))
    rel = np.abs(mine["pval_nominal"].to_numpy() / theirs["pval_nominal"].to_numpy() - 1)
    dbeta = np.abs(mine["pval_beta"].to_numpy() - theirs["pval_beta"].to_numpy())
    dlogbeta = np.abs(np.log10(mine["pval_beta"].to_numpy()) - np.log10(theirs["pval_beta"].to_numpy()))
    dperm = np.abs(mine["pval_perm"].to_numpy() - theirs["pval_perm"].to_numpy())
    print(
        f"agreement with tensorQTL float32 over {len(theirs)} genes: same num_var {same_num}; "
        f"same best feature {same_best:.1%}; "
        f"nominal p max |log10 diff| {dlog.max():.2e} (max relative {rel.max():.2e}); "
        f"beta p max abs diff {dbeta.max():.2e} (max |log10 diff| {dlogbeta.max():.2e}); "
        f"permutation p max abs diff {dperm.max():.2e}; true_df max rel diff "
        f"{np.abs(mine['true_df'].to_numpy() / theirs['true_df'].to_numpy() - 1).max():.2e}"
    )
    print(f"time ratio tensorQTL / genolens: {theirs_s / ours_s:.2f} (goal >= 1: not slower)")


def run(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(args.seed)
    n, f, p = args.samples, args.features, args.covariates
    covariates = np.column_stack([np.ones(n), rng.standard_normal((n, p))])
    y = covariates @ rng.normal(size=p + 1) + rng.standard_normal(n)
    threads = args.threads or "default"
    print(f"size: {n:,} samples x {f:,} features x {p} covariates + intercept; BLAS threads: {threads}")

    # 1. float64, chunks over features
    ours64 = 0.0
    first_chunk = None
    for start in range(0, f, args.chunk):
        width = min(args.chunk, f - start)
        block = np.random.default_rng([args.seed, start]).standard_normal((n, width))
        block[:, :5] += 0.1 * covariates[:, 1:2]  # a few features correlated with a covariate
        t0 = time.perf_counter()
        result = ols_scan(block, y=y, covariates=covariates)
        ours64 += time.perf_counter() - t0
        if first_chunk is None:
            first_chunk = (block[:, : args.subset].copy(), result)
        del block
    print(f"genolens ols_scan, float64 in chunks of {args.chunk:,} features: {ours64:.2f} s")

    # 2. statsmodels loop on a subset of the same features, extrapolated
    sub_x, sub_result = first_chunk
    subset = sub_x.shape[1]
    t0 = time.perf_counter()
    fits = []
    for j in range(subset):
        fit = sm.OLS(y, np.column_stack([covariates, sub_x[:, j]])).fit()
        fits.append((fit.params[-1], fit.bse[-1], fit.pvalues[-1]))
    loop = time.perf_counter() - t0
    extrapolated = loop / subset * f
    print(
        f"statsmodels OLS loop: {subset} features in {loop:.2f} s ({loop / subset * 1e3:.1f} ms/feature), "
        f"extrapolated to {f:,} features: {extrapolated:.1f} s"
    )
    ref = np.array(fits)
    got = np.column_stack([sub_result[k][:subset] for k in ("beta", "se", "pvalue")])
    rel = np.abs(got - ref) / np.abs(ref)
    print(
        f"agreement on the subset (max relative difference): beta {rel[:, 0].max():.1e}, "
        f"se {rel[:, 1].max():.1e}, p {rel[:, 2].max():.1e}"
    )

    # 3. float32 matrix in memory, one call
    t0 = time.perf_counter()
    features32 = rng.standard_normal((n, f), dtype=np.float32)
    gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    ols_scan(features32, y=y, covariates=covariates)
    ours32 = time.perf_counter() - t0
    print(
        f"genolens ols_scan, float32 matrix ({features32.nbytes / 2**30:.1f} GiB, generated in {gen:.1f} s): "
        f"{ours32:.2f} s"
    )
    print(
        f"speed-up vs statsmodels loop: {extrapolated / ours64:.0f}x (float64 chunks), "
        f"{extrapolated / ours32:.0f}x (float32 matrix); goal >= 200x"
    )


if __name__ == "__main__":
    main()
