"""Reading a query word the bank never uses as the bank word(s) it most likely means."""

from __future__ import annotations


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of neighbours is one edit), or limit + 1 once above it."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before, previous = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        lowest = i
        for j in range(1, len(b) + 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, before[j - 2] + 1)
            current[j] = value
            lowest = min(lowest, value)
        if lowest > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]


class Speller:
    """Reads a query word the bank never uses as the bank's word(s) it most likely means.

    A word of 4+ letters that is not in the bank becomes two bank words when it splits
    into them ("nonlinearity" -> "non linearity"); else, unless the encoder knows it as
    a whole word, the bank word within one edit (two from 8 letters on) sharing its
    first letter, the most frequent on ties ("activaton" -> "activation").
    """

    def __init__(self, counts: dict[str, int], known: frozenset[str] | set[str]):
        self.counts = counts
        self.known = known
        self._by_initial: dict[str, list[str]] | None = None
        self._cache: dict[str, str] = {}

    def fix(self, word: str) -> str:
        if len(word) < 4 or word in self.counts or not word.isalpha():
            return word
        found = self._cache.get(word)
        if found is None:
            found = self._fix(word)
            if len(self._cache) < 10_000:
                self._cache[word] = found
        return found

    def _fix(self, word: str) -> str:
        for cut in range(3, len(word) - 2):
            if word[:cut] in self.counts and word[cut:] in self.counts:
                return f"{word[:cut]} {word[cut:]}"
        if word in self.known:
            return word
        if self._by_initial is None:
            self._by_initial = {}
            for candidate in sorted(self.counts):
                self._by_initial.setdefault(candidate[0], []).append(candidate)
        limit = 1 if len(word) <= 7 else 2
        best = None
        for candidate in self._by_initial.get(word[0], ()):
            if abs(len(candidate) - len(word)) > limit:
                continue
            distance = edit_distance(word, candidate, limit)
            if distance <= limit:
                key = (distance, -self.counts[candidate], candidate)
                if best is None or key < best:
                    best = key
        return best[2] if best else word
