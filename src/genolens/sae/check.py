"""Verify a whole artefact on disk, an activation store or an SAE, before a long job trusts it.

``check_artifact`` reads every byte once: a store's shards (header, size, tables, data
checksum from format 0.4.0 on) or an SAE's weights (size, checksum where recorded,
tensor shapes against ``cfg.json``). Problems raise the typed error naming the file;
what was checked comes back as a :class:`CheckResult` (``genolens check`` prints it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from genolens.errors import InputFileError
from genolens.io.tensorfile import verify_digest
from genolens.sae.checkpoint import CFG, WEIGHTS, load_sae
from genolens.store.format import STORE_JSON
from genolens.store.reader import ActivationStore


@dataclass(frozen=True)
class CheckResult:
    """What was verified: the kind of artefact, its path, and a one-line summary."""

    kind: str
    path: str
    summary: str


def check_store(path: str | Path, *, partial: bool = False) -> CheckResult:
    """Verify every shard of a store (see :meth:`ActivationStore.verify`).

    Parameters
    ----------
    path
        The store folder.
    partial
        Accept an unfinished store and check the shards written so far.

    Returns
    -------
    CheckResult
        The summary.
    """
    store = ActivationStore(path, partial=partial)
    done = store.verify()
    state = "finished" if store.complete else "UNFINISHED (partial)"
    checksums = f"{done.checksums} data checksums match" if done.checksums else "no data checksums (format < 0.4.0)"
    summary = (f"store format {store.version}, {state}: {done.shards} shards, {done.sequences:,} sequences, "
               f"{done.rows:,} rows, {done.bytes / 2**20:,.1f} MiB whole; {checksums}")
    return CheckResult("store", str(path), summary)


def check_sae(path: str | Path) -> CheckResult:
    """Verify an SAE folder: ``cfg.json``, the weights' size, checksum (where recorded) and shapes.

    Parameters
    ----------
    path
        The SAE folder (``cfg.json`` + ``sae_weights.safetensors``).

    Returns
    -------
    CheckResult
        The summary.
    """
    sae = load_sae(path)  # checks cfg.json, the file's size and checksum, tensor names and shapes
    matched = verify_digest(Path(path) / WEIGHTS, what="SAE weights file")
    cfg = sae.cfg
    checksum = "data checksum matches" if matched else "no data checksum recorded (older SAE)"
    summary = (f"SAE {cfg.name!r} ({cfg.architecture}, d_in {cfg.d_in}, d_sae {cfg.d_sae}, layer "
               f"{cfg.provenance.layer} of {cfg.provenance.model or '?'}): weights whole; {checksum}")
    return CheckResult("sae", str(path), summary)


def check_artifact(path: str | Path, *, partial: bool = False) -> CheckResult:
    """Verify a store or an SAE folder, whichever ``path`` is.

    Parameters
    ----------
    path
        A store folder (``store.json``) or an SAE folder (``cfg.json``).
    partial
        For a store: accept an unfinished one.

    Returns
    -------
    CheckResult
        The summary.
    """
    p = Path(path)
    if (p / STORE_JSON).is_file():
        return check_store(p, partial=partial)
    if (p / CFG).is_file() or (p / WEIGHTS).is_file():
        return check_sae(p)
    raise InputFileError(f"neither an activation store ({STORE_JSON}) nor an SAE ({CFG}, {WEIGHTS})", path=p)
