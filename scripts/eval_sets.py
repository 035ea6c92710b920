"""The test banks and their older query sets, as scripts/search_ablation.py uses them.

Their development sets chose the static encoder's settings; the constants fitted across banks
(qakb.fitting) come from every bank of scripts/eval-banks.yml, these sets included.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


@dataclass(frozen=True)
class TestBank:
    name: str
    title: str
    content: Path
    dev: Path
    held_out: Path


BANKS = (
    TestBank("ml-dl", "ML / DL bank", ROOT / "content", DATA / "queries.yml", DATA / "queries-holdout.yml"),
    TestBank("data-science", "data-science bank", DATA / "ds-bank", DATA / "ds-bank" / "queries-dev.yml",
             DATA / "ds-bank" / "queries-holdout.yml"),
)
SPLITS = ("dev", "held-out")


def queries_file(bank: TestBank, split: str) -> Path:
    return bank.dev if split == "dev" else bank.held_out
