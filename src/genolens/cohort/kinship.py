"""Kinship between samples from their genotypes: the KING-robust estimator, as ``plink2 --make-king-table``.

For a pair of samples, over the variants both are genotyped at (Manichaikul et al. 2010, eq. 11, in the
between-family form plink2 reports)::

    kinship = (2 HetHet - 4 IBS0 - Het1 - Het2 + 2 min(Het1, Het2)) / (4 min(Het1, Het2))

with ``HetHet`` the variants where both are heterozygous, ``IBS0`` those where one is homozygous for each
allele, and ``Het1``/``Het2`` each sample's heterozygous variants. Duplicates score 0.5, first-degree
relatives about 0.25, second-degree 0.125 (plink2's cutoffs 0.354, 0.177, 0.0884, 0.0442 sit halfway).

The estimate needs many variants: from one chromosome segment it is noisy (on the bundled phase 1 chr22
genotypes, 3,598 SNPs at MAF >= 0.05, plink2 puts over a hundred pairs above the second-degree cutoff, most of
them surely unrelated). :func:`king_kinship` records how many variants it used and :data:`MIN_VARIANTS`
below which genolens says the estimate is too thin to act on; removing relatives stays off unless asked for.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from genolens.cohort.ancestry import read_dosages
from genolens.errors import ConfigError

#: plink2's cutoffs: duplicates / monozygotic twins, first, second and third degree
DEGREE_CUTOFFS = {"duplicate": 0.354, "first": 0.177, "second": 0.0884, "third": 0.0442}
#: fewer variants than this (genome-wide studies use 100,000 or more): the estimate is too noisy to act on
MIN_VARIANTS = 50_000
KIN0_COLUMNS = ("#IID1", "IID2", "NSNP", "HETHET", "IBS0", "KINSHIP")


@dataclass
class Kinship:
    """Pairwise KING-robust kinship of a set of samples.

    Attributes
    ----------
    samples
        Sample IDs, in the order of the matrices.
    kinship
        Samples × samples kinship (diagonal 0.5).
    n_variants
        Samples × samples count of the variants both are genotyped at.
    hethet, ibs0
        Samples × samples fractions of those variants where both are heterozygous / opposite homozygous.
    n_sites
        Variants read (after the MAF filter).
    settings
        How they were chosen (VCF, MAF).
    """

    samples: list[str]
    kinship: np.ndarray
    n_variants: np.ndarray
    hethet: np.ndarray
    ibs0: np.ndarray
    n_sites: int
    settings: dict = field(default_factory=dict)

    @property
    def trustworthy(self) -> bool:
        """Whether enough variants went into the estimate (:data:`MIN_VARIANTS`)."""
        return self.n_sites >= MIN_VARIANTS

    def pairs(self, *, cutoff: float | None = None) -> pd.DataFrame:
        """Every pair (or those with kinship above ``cutoff``) in plink2's ``.kin0`` columns and order.

        Parameters
        ----------
        cutoff
            Keep pairs with kinship strictly above it (plink2's ``--king-table-filter``); None: all pairs.

        Returns
        -------
        pandas.DataFrame
            ``#IID1, IID2, NSNP, HETHET, IBS0, KINSHIP``, one row per pair (the later sample first, as plink2).
        """
        i, j = np.tril_indices(len(self.samples), k=-1)
        if cutoff is not None:
            keep = self.kinship[i, j] > cutoff
            i, j = i[keep], j[keep]
        names = np.asarray(self.samples, dtype=object)
        return pd.DataFrame({"#IID1": names[i], "IID2": names[j], "NSNP": self.n_variants[i, j],
                             "HETHET": self.hethet[i, j], "IBS0": self.ibs0[i, j], "KINSHIP": self.kinship[i, j]})

    def unrelated(self, *, cutoff: float = DEGREE_CUTOFFS["second"]) -> list[str]:
        """Samples to remove so that no pair left is above ``cutoff`` (greedy, as ``plink2 --king-cutoff``).

        The sample with the most relatives above the cutoff goes first (ties: the later sample), until none
        is left.

        Parameters
        ----------
        cutoff
            Kinship above which a pair counts as related.

        Returns
        -------
        list of str
            The samples removed.
        """
        related = self.kinship > cutoff
        np.fill_diagonal(related, False)
        removed: list[str] = []
        alive = np.ones(len(self.samples), dtype=bool)
        while True:
            counts = (related & alive[None, :] & alive[:, None]).sum(1)
            if not counts.any():
                return removed
            worst = int(len(counts) - 1 - np.argmax(counts[::-1]))
            alive[worst] = False
            removed.append(self.samples[worst])


def king_from_dosages(dosages: np.ndarray, *, samples: Sequence[str]) -> Kinship:
    """KING-robust kinship of every pair of samples from alt-allele dosages (variants × samples, NaN missing).

    Parameters
    ----------
    dosages
        0/1/2 hard calls per variant and sample (NaN: missing).
    samples
        The samples' IDs.

    Returns
    -------
    Kinship
        The pairwise kinship and the counts behind it.
    """
    g = np.asarray(dosages, dtype=float)
    if g.ndim != 2 or g.shape[1] != len(samples):
        raise ConfigError(f"dosages of shape {g.shape} for {len(samples)} samples")
    observed = np.isfinite(g)
    calls = np.where(observed, g, -1)
    if ((calls != -1) & (calls != 0) & (calls != 1) & (calls != 2)).any():
        raise ConfigError("KING-robust reads hard calls (0, 1, 2); these dosages are not")
    het = (calls == 1).astype(np.float64)
    hom_ref = (calls == 0).astype(np.float64)
    hom_alt = (calls == 2).astype(np.float64)
    obs = observed.astype(np.float64)
    both = obs.T @ obs
    hethet = het.T @ het
    ibs0 = hom_ref.T @ hom_alt
    ibs0 = ibs0 + ibs0.T
    het_i = het.T @ obs  # [i, j]: heterozygous calls of i where j is genotyped too
    het_j = het_i.T
    low = np.minimum(het_i, het_j)
    with np.errstate(invalid="ignore", divide="ignore"):
        kinship = (2 * hethet - 4 * ibs0 - het_i - het_j + 2 * low) / (4 * low)
        frac_hethet, frac_ibs0 = hethet / both, ibs0 / both
    np.fill_diagonal(kinship, 0.5)
    return Kinship(list(map(str, samples)), kinship, both.astype(np.int64), frac_hethet, frac_ibs0, int(g.shape[0]))


def king_kinship(vcf: str | os.PathLike[str], *, samples: Sequence[str] | None = None,
                 min_maf: float = 0.05) -> Kinship:
    """KING-robust kinship of the samples of a VCF, from its biallelic SNVs with MAF >= ``min_maf``.

    Parameters
    ----------
    vcf
        VCF (plain or bgzipped) with the samples' genotypes.
    samples
        Only these samples (default: all).
    min_maf
        Minor-allele frequency filter over those samples (plink2's ``--maf``).

    Returns
    -------
    Kinship
        With ``n_sites`` the variants used and ``trustworthy`` whether they are enough (:data:`MIN_VARIANTS`).
    """
    dosages, names, _ = read_dosages(vcf, samples=samples, min_maf=min_maf)
    if len(names) < 2:
        raise ConfigError("kinship needs at least two samples")
    result = king_from_dosages(dosages, samples=names)
    result.settings = {"vcf": str(vcf), "min_maf": min_maf, "estimator": "KING-robust (plink2 --make-king-table)"}
    return result


def _by_degree(kinship: np.ndarray) -> dict[str, int]:
    """Pairs per degree: above each of plink2's cutoffs and not above the next closer one."""
    values = kinship[np.tril_indices(len(kinship), k=-1)]
    bounds = [*DEGREE_CUTOFFS.values(), np.inf]
    order = list(DEGREE_CUTOFFS)
    return {d: int(((values > bounds[i]) & (values <= (bounds[i - 1] if i else np.inf))).sum())
            for i, d in enumerate(order)}


def write_kinship(result: Kinship, prefix: str | os.PathLike[str], *, cutoff: float = DEGREE_CUTOFFS["second"],
                  remove: bool = False) -> list[Path]:
    """Write ``PREFIX.kin0`` (pairs above ``cutoff``), ``PREFIX.king.json`` and, with ``remove``,
    ``PREFIX.king.cutoff.out.id`` (the samples to remove, as ``plink2 --king-cutoff``).

    Parameters
    ----------
    result
        From :func:`king_kinship`.
    prefix
        Output prefix.
    cutoff
        Kinship above which a pair is written and counted as related.
    remove
        Also write the samples to remove so that no related pair is left.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from genolens.io.runfolder import write_header

    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    pairs = result.pairs(cutoff=cutoff)
    kin0 = prefix.with_name(prefix.name + ".kin0")
    pairs.to_csv(kin0, sep="\t", index=False, float_format="%.6g")
    written = [kin0]
    removed = result.unrelated(cutoff=cutoff) if remove else []
    if remove:
        out_id = prefix.with_name(prefix.name + ".king.cutoff.out.id")
        out_id.write_text("#IID\n" + "".join(f"{s}\n" for s in removed))
        written.append(out_id)
    summary = {
        **result.settings, "n_samples": len(result.samples), "n_variants": result.n_sites,
        "min_variants_to_trust": MIN_VARIANTS, "trustworthy": result.trustworthy, "cutoff": cutoff,
        "n_pairs_above_cutoff": len(pairs),
        "pairs_by_degree": _by_degree(result.kinship),
        "removed": removed if remove else None,
        "note": ("" if result.trustworthy else
                 f"estimated from {result.n_sites:,} variants (fewer than {MIN_VARIANTS:,}): too noisy to call "
                 "relatives; nothing is removed unless asked for"),
    }
    json_path = prefix.with_name(prefix.name + ".king.json")
    write_header(json_path, encoding="genolens-kinship", version="0.1.0", **summary)
    return [*written, json_path]
