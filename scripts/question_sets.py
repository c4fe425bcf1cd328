"""The question files the scripts in this folder measure on unless given others."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"
OWN = ROOT / "tests" / "data" / "own-questions.jsonl"


def from_argv(default: list[Path]) -> list[Path]:
    """The files named on the command line, else `default`."""
    return [Path(p) for p in sys.argv[1:]] or default
