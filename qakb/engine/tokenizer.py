"""The query's tokens, as the sentence-transformer's tokenizer gives them: HF's BertNormalizer,
BertPreTokenizer and WordPiece, in the standard library (token ids equal HF's, tested on every
code point)."""

from __future__ import annotations

import bisect
import re
import unicodedata


class CharClasses:
    """How HF's BertNormalizer and BertPreTokenizer treat each code point.

    Probed from the `tokenizers` library at build time (static_chars.json), because
    its Unicode tables are older than any Python's `unicodedata`: marks, controls
    and punctuation assigned since then are plain letters to it. Kinds: "drop"
    (controls, format characters, non-spacing marks), "space", "punct" (isolated
    as its own word), "cjk" (surrounded by spaces); any other code point is a
    letter, decomposed (NFD) and lowercased char by char, as HF does.
    """

    def __init__(self, ranges: dict[str, list[list[int]]]):
        self.ranges = ranges
        spans = sorted((start, end, kind) for kind, pairs in ranges.items() for start, end in pairs)
        self._starts = [start for start, _, _ in spans]
        self._spans = spans
        self._cache: dict[str, str | None] = {}

    def kind(self, char: str) -> str | None:
        found = self._cache.get(char, "")
        if found != "":
            return found
        code = ord(char)
        position = bisect.bisect_right(self._starts, code) - 1
        found = self._spans[position][2] if position >= 0 and code <= self._spans[position][1] else None
        if len(self._cache) < 10_000:
            self._cache[char] = found
        return found

    def normalize(self, text: str) -> str:
        """HF BertNormalizer(clean_text, handle_chinese_chars, strip_accents, lowercase)."""
        cleaned = []
        for char in text:
            kind = self.kind(char)
            if kind == "drop":
                continue
            cleaned.append(" " if kind == "space" else f" {char} " if kind == "cjk" else char)
        decomposed = unicodedata.normalize("NFD", "".join(cleaned))
        # Lowercase char by char: str.lower() would apply final-sigma, HF does not.
        return "".join(char.lower() for char in decomposed if self.kind(char) != "drop")

    def words(self, text: str) -> list[str]:
        """Normalise, split on spaces, and isolate each punctuation character."""
        words = []
        for chunk in self.normalize(text).split(" "):
            start = 0
            for position, char in enumerate(chunk):
                if self.kind(char) == "punct":
                    if position > start:
                        words.append(chunk[start:position])
                    words.append(char)
                    start = position + 1
            if start < len(chunk):
                words.append(chunk[start:])
        return words


class WordPieceTokenizer:
    def __init__(self, vocab: list[str], chars: CharClasses, *, unk_token="[UNK]", prefix="##",
                 max_input_chars_per_word=100, special_tokens=("[PAD]", "[UNK]")):
        self.chars = chars
        self.ids = {token: index for index, token in enumerate(vocab)}
        self.unk_id = self.ids[unk_token]
        self.prefix = prefix
        self.max_word_chars = max_input_chars_per_word
        # Special tokens are matched verbatim in the raw text before normalisation.
        self._special = re.compile("(" + "|".join(map(re.escape, special_tokens)) + ")") if special_tokens else None
        self._cache: dict[str, list[int]] = {}

    def tokenize(self, text: str) -> list[int]:
        """Token ids of `text`, [UNK] included (as HF gives them)."""
        parts = self._special.split(text) if self._special else [text]
        ids: list[int] = []
        for index, part in enumerate(parts):
            if index % 2:
                ids.append(self.ids[part])
                continue
            for word in self.chars.words(part):
                ids.extend(self._word_ids(word))
        return ids

    def _word_ids(self, word: str) -> list[int]:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        ids = [self.unk_id]
        if len(word) <= self.max_word_chars:
            pieces, start = [], 0
            while start < len(word):
                end = len(word)
                while end > start:
                    piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                    if piece in self.ids:
                        pieces.append(self.ids[piece])
                        break
                    end -= 1
                if end == start:
                    break
                start = end
            else:
                ids = pieces
        if len(self._cache) < 50_000:
            self._cache[word] = ids
        return ids
