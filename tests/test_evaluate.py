"""`qakb eval --content DIR`: search quality on any folder of bank files, through the CLI."""

from __future__ import annotations

import re

import pytest

from projects import ROOT, qakb

DS_BANK = ROOT / "tests" / "data" / "ds-bank"


def fused_row(output: str) -> tuple[int, float, float, float]:
    match = re.search(r"^fused\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", output, re.M)
    assert match, output
    return int(match[1]), float(match[2]), float(match[3]), float(match[4])


@pytest.mark.slow
def test_eval_measures_another_bank_without_building_its_site(tmp_path):
    result = qakb(ROOT, "eval", "--content", str(DS_BANK), "--queries", str(DS_BANK / "queries-dev.yml"))
    assert result.returncode == 0, result.stderr
    queries, recall_at_1, recall_at_5, mrr = fused_row(result.stdout)
    assert queries == 115
    # Measured 0.783 / 0.939 / 0.855 when the set was written; a floor below that catches a broken engine.
    assert recall_at_5 >= 0.90 and mrr >= 0.80 and recall_at_1 >= 0.70
    assert re.search(r"^transformer\s+115\s", result.stdout, re.M)


def test_eval_of_a_folder_without_banks_is_a_clear_error(tmp_path):
    result = qakb(ROOT, "eval", "--content", str(tmp_path), "--queries", str(DS_BANK / "queries-dev.yml"))
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "no bank files in the content folder (looked for *.md" in result.stderr


def test_eval_needs_a_query_set_written_for_the_bank(tmp_path):
    """No default: a query set names one bank's items (this repository's sets are not installed)."""
    without = qakb(ROOT, "eval", "--content", str(DS_BANK))
    assert without.returncode == 2 and "one of the arguments --queries --banks is required" in without.stderr
    missing = qakb(ROOT, "eval", "--content", str(DS_BANK), "--queries", str(tmp_path / "queries.yml"))
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"error: no query set at {tmp_path / 'queries.yml'}; ")
    assert "`relevant:`" in missing.stderr


def test_eval_banks_needs_a_spec_that_exists(tmp_path):
    missing = qakb(ROOT, "eval", "--banks", str(tmp_path / "banks.yml"))
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"error: no bank spec at {tmp_path / 'banks.yml'}; ")


def test_eval_banks_with_no_bank_present_reports_nothing_and_fails(tmp_path):
    spec = tmp_path / "banks.yml"
    spec.write_text("banks:\n  - name: gone\n    content: [gone.md]\n    heldout: [gone.yml]\n", encoding="utf-8")
    result = qakb(ROOT, "eval", "--banks", str(spec), "--no-transformer")
    assert result.returncode == 1
    assert f"note: bank gone skipped: {tmp_path / 'gone.md'} is absent" in result.stderr
    assert result.stdout.startswith("no bank to report on")
