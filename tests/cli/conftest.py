"""Shared inputs for CLI tests: tests/io's small synthetic reference + VCF writers."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))
