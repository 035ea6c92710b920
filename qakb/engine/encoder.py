"""The static query encoder: a text's vector is the mean of its tokens' rows of a table.

model2vec's StaticModel.encode in the standard library; `qakb.query_encoder` makes the table
at build time. The table is int8 with a float32 scale a row (FORMAT.md, "Static encoder").
"""

from __future__ import annotations

import math
from array import array

from qakb.engine.arrays import dot, little_endian
from qakb.engine.tokenizer import CharClasses, WordPieceTokenizer


class StaticEncoder:
    """Mean of int8 token rows, L2-normalised: model2vec's StaticModel.encode in stdlib."""

    def __init__(self, vocab: list[str], chars: CharClasses, table: bytes, rows: int, dim: int, settings: dict):
        self.tokenizer = WordPieceTokenizer(
            vocab, chars,
            unk_token=settings.get("unk_token", "[UNK]"),
            prefix=settings.get("continuing_subword_prefix", "##"),
            max_input_chars_per_word=settings.get("max_input_chars_per_word", 100),
            special_tokens=tuple(settings.get("special_tokens", ("[PAD]", "[UNK]"))),
        )
        self.rows, self.dim = rows, dim
        self.max_tokens = settings.get("max_tokens", 512)
        self.max_chars = settings.get("max_chars", 3072)
        if table:
            self.scales = little_endian(array("f", table[: 4 * rows]))
            self.values = array("b", table[4 * rows:])
        else:  # a sharded index: rows arrive in chunks (fill) as queries need them
            self.scales = array("f", bytes(4 * rows))
            self.values = array("b", bytes(rows * dim))

    def fill(self, first_row: int, chunk: bytes) -> None:
        """Put a chunk of the table (its rows' scales, then their int8 values) in place from `first_row`."""
        count = len(chunk) // (4 + self.dim)
        if count * (4 + self.dim) != len(chunk) or first_row + count > self.rows:
            raise ValueError("a table chunk does not fit the table")
        self.scales[first_row:first_row + count] = little_endian(array("f", chunk[: 4 * count]))
        self.values[first_row * self.dim:(first_row + count) * self.dim] = array("b", chunk[4 * count:])

    def token_ids(self, text: str) -> list[int]:
        ids = self.tokenizer.tokenize(text[: self.max_chars])[: self.max_tokens]
        return [i for i in ids if i != self.tokenizer.unk_id]

    def encode(self, text: str) -> list[float] | None:
        """Unit vector of `text`, or None when no token carries a vector."""
        total = [0.0] * self.dim
        found = False
        for token in self.token_ids(text):
            if token >= self.rows:
                continue
            found = True
            scale, start = self.scales[token], token * self.dim
            row = self.values[start:start + self.dim]
            total = [t + scale * v for t, v in zip(total, row)]
        norm = math.sqrt(dot(total, total)) if found else 0.0
        if norm == 0.0:
            return None
        return [t / norm for t in total]
