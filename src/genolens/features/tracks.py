"""Per-base tracks over reference coordinates from a store: one layer unit, or one SAE feature.

A stored row's value (a unit of its activation, or an SAE feature of it) goes to
every base the row covers (``row.span``: the per-base rule of
:mod:`genolens.adapters.spans`, a token's value on each of its bases), and each
base to its reference position (``base.ref``, kept since store format 0.3.0);
inserted bases have none and are left out. Minus-strand sequences make the
minus-strand track. Where several selected sequences cover one reference
position on one strand (the haplotypes of many samples), their values are
combined as asked: ``mean`` (the default), ``max``, or ``first`` (the first
sequence in store order); the number of positions concerned is reported, so no
value is dropped silently. Memory: one shard, plus a few numbers per distinct
reference position covered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from genolens.adapters.tracks import STRAND_SUFFIX, Track, write_bigwig, write_stranded_bedgraphs
from genolens.errors import ConfigError, InputFormatError
from genolens.features.source import StoreSource
from genolens.features.summary import MAX_CHUNK_ELEMENTS, encode
from genolens.io.coordmap import CoordinateMap
from genolens.io.runfolder import write_header

COMBINE = ("mean", "max", "first")
FORMAT = "genolens.track"
FORMAT_VERSION = "0.1.0"

RowValues = Callable[[torch.Tensor], torch.Tensor]
"""``[rows, d_in]`` float32 activations -> ``[rows]`` values."""


def unit_values(unit: int, *, hidden_size: int) -> RowValues:
    """The value of one unit (dimension) of the layer."""
    if not 0 <= unit < hidden_size:
        raise ConfigError(f"unit must be in [0, {hidden_size}) for this store, got {unit}")
    return lambda acts: acts[:, unit]


def feature_values(sae: torch.nn.Module, *, feature: int) -> RowValues:
    """The activation of one SAE feature (encoded in slices of bounded size)."""
    d_sae = int(sae.cfg.d_sae)
    if not 0 <= feature < d_sae:
        raise ConfigError(f"feature must be in [0, {d_sae}) for SAE {sae.cfg.name!r}, got {feature}")
    step = max(1, MAX_CHUNK_ELEMENTS // d_sae)

    def values(acts: torch.Tensor) -> torch.Tensor:
        parts = [encode(acts[i : i + step], sae=sae)[:, feature] for i in range(0, acts.shape[0], step)]
        return torch.cat(parts) if parts else acts.new_zeros(0)

    return values


@dataclass(frozen=True)
class TrackConfig:
    """How positions covered by several sequences are combined, and the rows read at once."""

    combine: str = "mean"
    chunk_rows: int = 8192

    def __post_init__(self) -> None:
        if self.combine not in COMBINE:
            raise ConfigError(f"combine must be one of {', '.join(COMBINE)}, got {self.combine!r}")
        if self.chunk_rows <= 0:
            raise ConfigError(f"chunk_rows must be > 0, got {self.chunk_rows}")


@dataclass(frozen=True, eq=False)
class ReferenceTracks:
    """One track (per-base values + coordinate map) per contig and strand, and what combining did.

    Parameters
    ----------
    tracks
        One per contig and strand.
    n_sequences
        Sequences drawn.
    n_positions
        Reference positions with a value.
    n_shared
        Reference positions covered by more than one sequence (combined by ``config.combine``).
    max_depth
        Most sequences covering one position.
    config
        How shared positions were combined.
    name
        What was drawn (e.g. ``topk_w512_k16_s0 feature 7 (L2)``).
    model
        The model the store was embedded with.
    layer
        The store layer read.
    store_complete
        False when an unfinished store was read on purpose.
    store_shards
        Shards read.
    """

    tracks: list[Track]
    n_sequences: int
    n_positions: int
    n_shared: int  # reference positions covered by more than one sequence
    max_depth: int  # most sequences covering one position
    config: TrackConfig = field(default_factory=TrackConfig)
    name: str = ""  # what was drawn, e.g. "topk_w512_k16_s0 feature 7 (L2)"
    model: str = ""  # the model the store was embedded with
    layer: int = -1  # the store layer read
    store_complete: bool = True  # False when an unfinished store was read on purpose
    store_shards: int = 0

    def summary(self) -> dict:
        """Counts and settings, JSON-ready (part of ``PREFIX.track.json``).

        Returns
        -------
        dict
            ``n_sequences``, ``n_positions``, ``n_shared``, ``max_depth``, ``config``.
        """
        return {"n_sequences": self.n_sequences, "n_positions": self.n_positions, "n_shared": self.n_shared,
                "max_depth": self.max_depth, "config": asdict(self.config)}


class _Pileup:
    """Running sum, count, max and first value per reference position of one contig and strand."""

    def __init__(self) -> None:
        self.pos = np.zeros(0, dtype=np.int64)
        self.total = np.zeros(0)
        self.count = np.zeros(0, dtype=np.int64)
        self.max = np.zeros(0)
        self.first = np.zeros(0)

    def add(self, pos: np.ndarray, val: np.ndarray) -> None:
        """Add values in store order (earlier additions come first for ``first``)."""
        if pos.size == 0:
            return
        every = np.concatenate([self.pos, pos])
        order = np.argsort(every, kind="stable")  # stable: store order kept within a position
        sorted_pos = every[order]
        starts = np.flatnonzero(np.r_[True, sorted_pos[1:] != sorted_pos[:-1]])
        take = lambda old, new: np.concatenate([old, new])[order]  # noqa: E731
        self.total = np.add.reduceat(take(self.total, val), starts)
        self.count = np.add.reduceat(take(self.count, np.ones(pos.size, dtype=np.int64)), starts)
        self.max = np.maximum.reduceat(take(self.max, val), starts)
        self.first = take(self.first, val)[starts]
        self.pos = sorted_pos[starts]

    def values(self, combine: str) -> np.ndarray:
        if combine == "mean":
            return self.total / self.count
        return self.max if combine == "max" else self.first


def select_sequences(source: StoreSource, *, ids: Sequence[str] = (), samples: Sequence[str] = ()) -> np.ndarray:
    """Boolean mask over ``source.sequences``: the IDs given, the sequences of the samples given, or all."""
    table = source.sequences
    if ids and samples:
        raise ConfigError("select sequences by ID or by sample, not both")
    if ids:
        known = set(table["id"])
        for seq_id in ids:
            if seq_id not in known:
                raise ConfigError("sequence is not in the store", path=source.path, record=seq_id)
        return table["id"].isin(set(ids)).to_numpy()
    if samples:
        of_sample = table["sample"].to_numpy(dtype=object)
        for sample in samples:
            if not (of_sample == sample).any():
                raise ConfigError(
                    f"no sequence of sample {sample!r} in the store", path=source.path,
                    hint="samples are known for personal haplotypes (embed --vcf)",
                )
        wanted = set(samples)
        return np.array([s in wanted for s in of_sample], dtype=bool)
    return np.ones(len(table), dtype=bool)


def _groups(source: StoreSource, select: np.ndarray) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Per sequence, the index of its (contig, strand) among the selected ones' (-1: not selected)."""
    table = source.sequences
    contigs = table["contig"].to_numpy(dtype=object)
    strands = table["strand"].to_numpy(dtype=object)
    keys: dict[tuple[str, str], int] = {}
    group = np.full(len(table), -1, dtype=np.int64)
    for i in np.flatnonzero(select):
        if not isinstance(contigs[i], str):
            raise ConfigError(
                "sequence has no reference coordinates", path=source.path, record=str(table["id"].iat[i]),
                hint="tracks need sequences built from a reference (embed --reference [--vcf], or a FASTA with its "
                ".coords.tsv sidecar); select others with --sequence/--sample",
            )
        group[i] = keys.setdefault((contigs[i], strands[i]), len(keys))
    return group, list(keys)


def reference_tracks(
    source: StoreSource,
    *,
    values: RowValues,
    select: np.ndarray | None = None,
    config: TrackConfig | None = None,
) -> ReferenceTracks:
    """Per-base ``values`` of the selected sequences (default all) over the reference, combined as configured."""
    config = config or TrackConfig()
    store = source.store
    if not store.has_bases:
        raise ConfigError(
            f"the store (format {store.version}) keeps no per-base reference positions", path=source.path,
            hint="re-embed it with this genolens (store format 0.3.0 keeps them)",
        )
    table = source.sequences
    select = np.ones(len(table), dtype=bool) if select is None else np.asarray(select, dtype=bool)
    if not select.any():
        raise ConfigError("no sequences selected", path=source.path)
    group, keys = _groups(source, select)
    base_offset = table["base_offset"].to_numpy(dtype=np.int64)
    shard_of = table["shard"].to_numpy()
    piles = [_Pileup() for _ in keys]
    for shard in np.unique(shard_of[select]).tolist():
        base_ref = store.read(shard, "base.ref").numpy()
        parts: dict[int, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
        for chunk in source.shard_chunks(shard, chunk_rows=config.chunk_rows):
            keep = select[chunk.seq]
            if not keep.any():
                continue
            row_values = values(chunk.acts[torch.from_numpy(keep)]).double().numpy()
            seq, span = chunk.seq[keep], chunk.span[keep]
            widths = span[:, 1] - span[:, 0]
            first_base = base_offset[seq] + span[:, 0]  # row -> its first base in the shard's base.* tensors
            bases = np.repeat(first_base - (np.cumsum(widths) - widths), widths) + np.arange(int(widths.sum()))
            pos, val, grp = base_ref[bases], np.repeat(row_values, widths), np.repeat(group[seq], widths)
            ok = (pos >= 0) & ~np.isnan(val)
            for g in np.unique(grp[ok]).tolist():
                m = ok & (grp == g)
                parts[g].append((pos[m], val[m]))
        for g, items in parts.items():
            piles[g].add(np.concatenate([p for p, _ in items]), np.concatenate([v for _, v in items]))
    tracks: list[Track] = []
    for (contig, strand), pile in sorted(zip(keys, piles, strict=True), key=lambda kp: kp[0]):
        vals, pos = pile.values(config.combine), pile.pos
        if strand == "-":  # a minus-strand map runs down the reference
            vals, pos = vals[::-1].copy(), pos[::-1].copy()
        tracks.append((vals, CoordinateMap(contig, strand, pos)))
    counts = np.concatenate([p.count for p in piles]) if piles else np.zeros(0, dtype=np.int64)
    return ReferenceTracks(
        tracks=tracks, n_sequences=int(select.sum()), n_positions=int(counts.size),
        n_shared=int((counts > 1).sum()), max_depth=int(counts.max(initial=0)), config=config,
    )


def check_contigs(
    result: ReferenceTracks, *, contig_lengths: Mapping[str, int], path: str | Path | None = None
) -> None:
    """Every track's contig must be in ``contig_lengths`` (``path``: where they came from) and fit in it."""
    for _, coords in result.tracks:
        length = contig_lengths.get(coords.contig)
        if length is None:
            raise InputFormatError(
                f"contig {coords.contig!r} of the store is not in the reference index", path=path,
                hint=f"it lists {', '.join(list(contig_lengths)[:5])}; pass the reference the store was built from",
            )
        if coords.ref_pos.size and int(coords.ref_pos.max()) >= length:
            raise InputFormatError(
                f"positions up to {int(coords.ref_pos.max()) + 1} on {coords.contig!r}, longer than its {length}",
                path=path, hint="pass the reference the store was built from",
            )


def write_tracks(
    result: ReferenceTracks,
    *,
    prefix: str | Path,
    name: str,
    description: str = "",
    contig_lengths: Mapping[str, int] | None = None,
    bigwig: bool = False,
    inputs: Mapping[str, object] | None = None,
) -> list[Path]:
    """``PREFIX.{plus,minus}.bedGraph`` (strands present), with ``bigwig`` also ``.bw``, and ``PREFIX.track.json``."""
    if bigwig and contig_lengths is None:
        raise ConfigError("bigWig files need the contig lengths (a reference FASTA or its .fai)")
    if not result.tracks:
        raise ConfigError("no selected base has a reference position: nothing to write")
    paths = list(write_stranded_bedgraphs(prefix, result.tracks, name=name, description=description).values())
    if bigwig:
        for strand, suffix in STRAND_SUFFIX.items():
            chosen = [t for t in result.tracks if t[1].strand == strand]
            if chosen:
                paths.append(write_bigwig(f"{prefix}.{suffix}.bw", chosen, contig_lengths=dict(contig_lengths)))
    sidecar = write_header(Path(f"{prefix}.track.json"), encoding=FORMAT, version=FORMAT_VERSION, name=name,
                           files=[p.name for p in paths], **result.summary(), inputs=dict(inputs or {}))
    return [*paths, sidecar]
