"""Write one safetensors shard piece by piece, in bounded memory, atomically, with a data checksum.

The layout is fixed up front from the tensors' names, dtypes and shapes: tensors lie in
the data section by item size (largest first, so every tensor is aligned) then name, and
the JSON header has sorted keys, padded with spaces to 8 bytes. The bytes are therefore a
function of the content only (a resumed store is byte-identical to one written in one
run). Rows are written at their offsets with ``os.pwrite`` into a temporary file, so a
tensor never has to be whole in memory; on success the data section is hashed (in
chunks) into the header's ``data-sha256`` and the file is ``os.replace``-d into place.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import torch

from genolens.io.tensorfile import DIGEST_KEY, data_digest, read_header
from genolens.store.format import FILE_MODE, TMP_SUFFIX

SAFETENSORS_DTYPE = {torch.float32: "F32", torch.bfloat16: "BF16", torch.int64: "I64", torch.uint8: "U8"}
DIGEST_PLACEHOLDER = "0" * 64


@dataclass(frozen=True)
class TensorSpec:
    """A tensor of a shard: name, dtype and shape."""

    name: str
    dtype: torch.dtype
    shape: tuple[int, ...]

    @property
    def row_bytes(self) -> int:
        n = self.dtype.itemsize
        for dim in self.shape[1:]:
            n *= dim
        return n

    @property
    def nbytes(self) -> int:
        return self.row_bytes * self.shape[0]


class ShardFile:
    """A shard being written: ``with ShardFile(path, specs, metadata) as f: f.write(name, row, tensor)``.

    Every byte of every tensor must be written before the block ends; the file then appears
    whole at ``path`` (or, on an exception, not at all).
    """

    def __init__(self, path: Path, specs: list[TensorSpec], metadata: dict[str, str], *, digest: bool) -> None:
        self.path = Path(path)
        self.specs = {s.name: s for s in specs}
        order = sorted(specs, key=lambda s: (-s.dtype.itemsize, s.name))
        self.offsets: dict[str, int] = {}
        entries: dict[str, dict] = {}
        at = 0
        for spec in order:
            self.offsets[spec.name] = at
            dtype = SAFETENSORS_DTYPE[spec.dtype]
            entries[spec.name] = {"dtype": dtype, "shape": list(spec.shape), "data_offsets": [at, at + spec.nbytes]}
            at += spec.nbytes
        self.data_bytes = at
        self.digest = digest
        self.metadata = {**metadata, **({DIGEST_KEY: DIGEST_PLACEHOLDER} if digest else {})}
        self.entries = entries
        self.header = self._header()
        self.written = dict.fromkeys(self.specs, 0)
        self._fd = -1
        self._tmp = ""

    def _header(self) -> bytes:
        text = json.dumps({"__metadata__": self.metadata, **self.entries}, sort_keys=True, separators=(",", ":"))
        raw = text.encode()
        raw += b" " * (-len(raw) % 8)
        return len(raw).to_bytes(8, "little") + raw

    def __enter__(self) -> ShardFile:
        self._fd, self._tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=TMP_SUFFIX)
        os.chmod(self._tmp, FILE_MODE)  # mkstemp makes 0600; a store is meant to be shared
        os.ftruncate(self._fd, len(self.header) + self.data_bytes)
        self._pwrite(self.header, 0)
        return self

    def _pwrite(self, blob: memoryview | bytes, offset: int) -> None:
        view = memoryview(blob).cast("B")
        while view:
            n = os.pwrite(self._fd, view, offset)
            view, offset = view[n:], offset + n

    def write(self, name: str, first_row: int, values: torch.Tensor) -> None:
        """Write ``values`` (rows of tensor ``name``, cast to its dtype) starting at row ``first_row``."""
        spec = self.specs[name]
        values = values.to(spec.dtype).contiguous()
        if tuple(values.shape[1:]) != spec.shape[1:] or not 0 <= first_row <= spec.shape[0] - values.shape[0]:
            raise ValueError(f"{name}: rows {first_row}+{tuple(values.shape)} do not fit shape {spec.shape}")
        if values.numel() == 0:
            return
        raw = values.reshape(-1).view(torch.uint8).numpy()
        self._pwrite(raw, len(self.header) + self.offsets[name] + first_row * spec.row_bytes)
        self.written[name] += raw.nbytes

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                self._finish()
        finally:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            Path(self._tmp).unlink(missing_ok=True)  # gone already when the file was moved into place

    def _finish(self) -> None:
        short = {n: (w, self.specs[n].nbytes) for n, w in self.written.items() if w != self.specs[n].nbytes}
        if short:  # an invariant of the writer, never a user error
            raise RuntimeError(f"shard {self.path.name}: tensors not fully written (written, size): {short}")
        if self.digest:
            self.metadata[DIGEST_KEY] = data_digest(self._tmp, read_header(self._tmp))
            header = self._header()
            assert len(header) == len(self.header)  # a 64-character digest replaces the placeholder
            self._pwrite(header, 0)
        os.fsync(self._fd)
        os.replace(self._tmp, self.path)
