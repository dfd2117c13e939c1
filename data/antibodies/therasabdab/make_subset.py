"""Make antibodies.tsv from the Thera-SAbDab table (run once; tests read only the subset).

    python data/antibodies/therasabdab/make_subset.py \
        ../shared/data/antibodies/therasabdab/TheraSAbDab_SeqStruc_OnlineDownload.csv

Keeps monospecific antibodies (no second Fv) with both chains, of three origins, in file order:
the first 60 kappa and 60 lambda genetically human ones, the first 68 kappa and all lambda humanised
ones, and every chimeric one; the labels are copied unchanged.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

GENETICS = "Genetics (Bispecifics delimited with semicolon)"
QUOTA = {("Genetically human", "Kappa"): 60, ("Genetically human", "Lambda"): 60,
         ("Humanised", "Kappa"): 68, ("Humanised", "Lambda"): 100, ("Chimeric", "Kappa"): 100,
         ("Chimeric", "Lambda"): 100}


def main(path: str) -> None:
    taken: dict[tuple[str, str], int] = {}
    rows = []
    with open(path, newline="") as fh:
        for r in csv.DictReader(fh):
            if r["HeavySequence(ifbispec)"] != "na" or r["HC"] in ("", "na") or r["LC"] in ("", "na"):
                continue
            key = (r[GENETICS], r["VD LC"])
            if key in QUOTA and taken.get(key, 0) < QUOTA[key]:
                taken[key] = taken.get(key, 0) + 1
                rows.append((r["Therapeutic"], r["HC"], r["LC"], r["VD LC"].lower(), r[GENETICS]))
    out = Path(__file__).with_name("antibodies.tsv")
    with open(out, "w") as fh:
        fh.write("id\tvh\tvl\tlight_chain\torigin\n")
        fh.writelines("\t".join(r) + "\n" for r in rows)
    print(f"{len(rows)} antibodies -> {out}: {taken}")


if __name__ == "__main__":
    main(sys.argv[1])
