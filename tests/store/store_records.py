"""Random DNA records for store tests (some with reference coordinates)."""

from __future__ import annotations

import random

import numpy as np

from genolens.io.coordmap import CoordinateMap
from genolens.io.records import SequenceRecord


def random_records(n: int, *, seed: int = 0, lo: int = 40, hi: int = 400) -> list[SequenceRecord]:
    rng = random.Random(seed)
    records = []
    for i in range(n):
        length = rng.randint(lo, hi)
        seq = "".join(rng.choice("ACGT") for _ in range(length))
        coords = None
        if i % 3 == 0:  # plus strand with one inserted base
            pos = np.arange(1000 * i, 1000 * i + length, dtype=np.int64)
            pos[5:] -= 1
            pos[5] = -1
            coords = CoordinateMap("22", "+", pos)
        elif i % 3 == 1:
            coords = CoordinateMap.identity("22", 1000 * i, 1000 * i + length, strand="-")
        records.append(SequenceRecord(f"s{i}", seq, "dna", coords=coords))
    return records
