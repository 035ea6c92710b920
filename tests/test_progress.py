"""Progress bars show on a terminal, for long steps only; logs and CI output stay one line per step."""

from __future__ import annotations

import io
import re
import sys

from qakb.progress import BAR_FROM, progress_bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_long_step_on_a_terminal_shows_count_and_time_left(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar(BAR_FROM * 2, "embedding", "texts") as bar:
        bar.update(BAR_FROM)
        bar.refresh()  # tqdm redraws at most every 0.1 s
    shown = terminal.getvalue()
    assert "embedding" in shown and f"{BAR_FROM}/{BAR_FROM * 2}" in shown
    # Time spent<time left, as a time: the first frame's "<?" only says that nothing is known yet.
    assert re.search(rf"{BAR_FROM}/{BAR_FROM * 2} \[\d\d:\d\d<\d\d:\d\d", shown), shown


def test_no_bar_off_a_terminal_or_for_a_short_step(monkeypatch):
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    with progress_bar(BAR_FROM * 2, "embedding", "texts") as bar:
        bar.update(BAR_FROM)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar(BAR_FROM - 1, "embedding", "texts") as bar:
        bar.update(10)
    assert log.getvalue() == "" and terminal.getvalue() == ""
