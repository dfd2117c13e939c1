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
"""

from __future__ import annotations

import argparse
import time

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
    args = parser.parse_args()
    if args.threads > 0:
        with threadpool_limits(limits=args.threads):
            run(args)
    else:
        run(args)


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
