"""Progress bars for the build's long steps: count, rate and time left, on stderr."""

from __future__ import annotations

import sys

# Steps with fewer items than this get no bar: it would only flash.
BAR_FROM = 2000


def progress_bar(total: int, what: str, unit: str):
    """A tqdm bar on stderr when stderr is a terminal and the step is long; otherwise a silent
    stand-in, so logs and CI output keep one line per build step."""
    from tqdm import tqdm

    return tqdm(total=total, desc=what, unit=f" {unit}", file=sys.stderr, leave=False, dynamic_ncols=True,
                disable=total < BAR_FROM or not sys.stderr.isatty())
