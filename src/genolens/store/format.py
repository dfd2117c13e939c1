"""The on-disk layout of an activation store, version 0.4.0.

0.4.0 added a SHA-256 of each shard's data section to its metadata (``data-sha256``),
checked by ``genolens check``; shards are laid out by genolens' own writer so that a
long sequence streams into its shard window by window. 0.3.0 added the bases
(``base.seq``, ``base.ref``) and a per-sequence ``sha256``;
0.2.0 added ``model_hash`` and ``tokenizer`` to the config; 0.1.0 was the first.

::

    STORE/
      store.json                      encoding type + version, genolens version, StoreConfig
      shards/shard-000000.safetensors one per group of consecutive input sequences
      complete.json                   written last: totals; its presence marks a finished store

A shard is one safetensors file (written to a temporary name, then
``os.replace``-d, so a shard either exists whole or not at all) holding

* ``acts.L{layer}`` ``[rows, dim]`` (float32 or bfloat16) for each stored layer;
* ``row.seq`` ``[rows]`` int64: index of the row's sequence in the shard's list;
* ``row.span`` ``[rows, 2]`` int64: bases ``[start, end)`` of the sequence the row covers;
* ``row.ref`` ``[rows, 2]`` int64: reference position (0-based) of the first and last
  base of the span, -1 where unknown (no coordinates, or an inserted base);
* ``base.seq`` ``[bases]`` uint8 (since 0.3.0): the ASCII bases of the shard's sequences,
  concatenated in order, exactly ``SequenceRecord.sequence`` (upper-case; the soft-mask
  is not kept);
* ``base.ref`` ``[bases]`` int64 (since 0.3.0): per base, its 0-based reference position
  from the record's coordinate map, -1 for an inserted base or a record without coordinates;

and, in the safetensors metadata, the encoding type/version, the shard index, the
SHA-256 of the data section (since 0.4.0, ``data-sha256``), the
global index of its first sequence and the JSON list of its sequences (id,
length, rows, contig, strand, sample, haplotype, region, per_base and, since
0.3.0, ``sha256``: the hex SHA-256 of the sequence's ASCII bases). A sequence's
bases start in ``base.*`` at the sum of the lengths of the shard's sequences before it.

Readers check every shard they open against its header (a file cut short or grown is an
error naming it) and refuse an unfinished store (no ``complete.json``) unless asked to
read it partially. Readers dispatch on ``encoding-version`` (like anndata's IO registry); a fixture
store of every released version is kept under ``tests/data/`` and read in tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from genolens.adapters.base import check_dtype
from genolens.errors import ConfigError

STORE_TYPE = "genolens.activation-store"
SHARD_TYPE = "genolens.activation-shard"
VERSION = "0.4.0"
SUPPORTED_VERSIONS = ("0.1.0", "0.2.0", "0.3.0", "0.4.0")
WITHOUT_BASES = ("0.1.0", "0.2.0")  # versions that keep no base.* tensors and no sha256
WITHOUT_DIGEST = ("0.1.0", "0.2.0", "0.3.0")  # versions whose shards record no data-sha256
STORE_JSON = "store.json"
COMPLETE_JSON = "complete.json"
SHARD_DIR = "shards"
TMP_SUFFIX = ".tmp"
FILE_MODE = 0o644


def shard_name(index: int) -> str:
    return f"shard-{index:06d}.safetensors"


def act_key(layer: int) -> str:
    return f"acts.L{layer}"


def sequence_digest(sequence: str) -> str:
    """Hex SHA-256 of a sequence's ASCII bases: what a resumed run and ``--sequences`` are checked against."""
    return hashlib.sha256(sequence.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class StoreConfig:
    """What a store was made with; a resumed run must use the same.

    Parameters
    ----------
    model
        Model name, hub id or folder.
    family
        Adapter family (``esm``, ``bert``, ``hyenadna``, ...).
    layers
        Stored layers (``hidden_states`` indices).
    hidden_size
        Width of the stored activations.
    dtype
        ``"float32"`` or ``"bfloat16"``.
    shard_size
        Bases (residues) per shard.
    batch_tokens
        Padded tokens per forward pass.
    overlap
        Tiling overlap for sequences longer than the context (``None``: a quarter window).
    model_hash
        Fingerprint of the weights (since format 0.2.0).
    tokenizer
        Fingerprint of the tokeniser (since format 0.2.0).
    edits
        Edits applied to the activations before they were stored, e.g. ``("leace:super_pop@L4",)`` for a
        concept erased at layer 4 (``genolens embed --erase``, ``genolens erase --store``); empty for a plain
        store (and then left out of ``store.json``).
    """

    model: str
    family: str
    layers: tuple[int, ...]
    hidden_size: int
    dtype: str = "float32"
    shard_size: int = 100_000
    batch_tokens: int = 8192
    overlap: int | None = None
    model_hash: str = ""  # since 0.2.0: weights fingerprint (genolens.adapters.fingerprint)
    tokenizer: str = ""  # since 0.2.0: tokeniser fingerprint
    edits: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(int(x) for x in self.layers))
        object.__setattr__(self, "edits", tuple(str(e) for e in self.edits))
        if not self.layers:
            raise ConfigError("layers must not be empty")
        check_dtype(self.dtype)
        if self.shard_size <= 0:
            raise ConfigError(f"shard_size must be > 0, got {self.shard_size}")
        if self.batch_tokens <= 0:
            raise ConfigError(f"batch_tokens must be > 0, got {self.batch_tokens}")
        if self.hidden_size <= 0:
            raise ConfigError(f"hidden_size must be > 0, got {self.hidden_size}")

    def to_json(self) -> dict:
        """The settings as a JSON-ready dict (``store.json``'s ``config``).

        Returns
        -------
        dict
            One entry per field (``edits`` only when there are some).
        """
        data = asdict(self)
        if not self.edits:
            del data["edits"]
        else:
            data["edits"] = list(self.edits)
        return data

    @classmethod
    def from_json(cls, data: dict) -> StoreConfig:
        """Inverse of :meth:`to_json` (validated as on construction).

        Parameters
        ----------
        data
            A dict written by :meth:`to_json`.

        Returns
        -------
        StoreConfig
            The settings.
        """
        return cls(**data)

    def differences(self, other: StoreConfig, *, names: tuple[str, str]) -> str:
        """The settings that differ, as ``key: NAME1 VALUE, NAME2 VALUE; ...`` ('' when equal).

        Parameters
        ----------
        other
            Settings to compare with.
        names
            How the message names this one and ``other`` (e.g. ``("store", "this run")``).

        Returns
        -------
        str
            The differing keys with both values, or ``""``.
        """
        mine, theirs = asdict(self), asdict(other)
        return "; ".join(
            f"{key}: {names[0]} {mine[key]!r}, {names[1]} {theirs[key]!r}" for key in mine if mine[key] != theirs[key]
        )


def write_bytes_atomic(path: Path, blob: bytes) -> None:
    """Write ``blob`` to ``path`` via a temporary file, fsync and ``os.replace`` (never a half-written file)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=TMP_SUFFIX)
    try:
        os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600; a store is meant to be shared
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: dict) -> None:
    """Write JSON to ``path`` atomically."""
    write_bytes_atomic(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())
