"""The general token table's corpus, training and packing helpers (qakb.general_table), on tiny data."""

from __future__ import annotations

import numpy as np
import pytest

from qakb import general_table
from qakb.general_table import (
    GeneralTable, corpus_texts, debian_descriptions, docstring_texts, fit_rows, man_page_texts, pack,
    ridge_mapped_rows, sentences, word_windows,
)


def test_sentences_drop_markup_and_keep_prose_of_a_fitting_length():
    paragraph = ("Use **`fit`** to train the model on X. Ok. "
                 "1234567890 1234567890 1234567890 numbers only!\n  Then call :func:`predict` on new data.")
    assert sentences(paragraph) == ["Use fit to train the model on X.", "Then call predict on new data."]


def test_debian_descriptions_are_the_one_line_summaries():
    dump = ("Package: curl\nVersion: 7\nDescription: command line tool for transferring data with URL syntax\n"
            "Description-md5: 0f\n\nPackage: jq\nDescription: lightweight and flexible command-line JSON processor\n")
    assert debian_descriptions(dump) == ["command line tool for transferring data with URL syntax",
                                         "lightweight and flexible command-line JSON processor"]


def test_docstring_texts_take_the_prose_before_the_parameters():
    source = '''
"""Tools for fitting regularised linear models to tabular data."""

def ridge(x, alpha):
    """Fit a linear model with an L2 penalty on its weights.

    The penalty shrinks every weight towards zero.

    Parameters
    ----------
    alpha : float
        How strong the penalty is, a sentence that must not be kept.
    """
'''
    assert docstring_texts(source) == ["Tools for fitting regularised linear models to tabular data.",
                                       "Fit a linear model with an L2 penalty on its weights.",
                                       "The penalty shrinks every weight towards zero."]
    assert docstring_texts("def broken(:\n") == []


def test_man_page_texts_read_name_and_description_without_troff():
    troff = ('.TH LS 1\n.SH NAME\nls \\- list directory contents\n.SH SYNOPSIS\n.B ls\n[OPTION]... [FILE]...\n'
             '.SH DESCRIPTION\n.PP\nList information about the FILEs (the current directory by default).\n'
             '.SH AUTHOR\nWritten by Richard M. Stallman and David MacKenzie.\n')
    assert man_page_texts(troff) == ["list directory contents",
                                     "List information about the FILEs (the current directory by default)."]


def test_word_windows_are_short_distinct_runs_of_the_texts_words_and_repeatable():
    texts = ["gradient descent takes small steps against the gradient of the loss", "too short"]
    windows = word_windows(texts, 20, seed=1)
    assert windows == word_windows(texts, 20, seed=1)
    assert len(windows) == len(set(windows)) <= 20
    assert all(2 <= len(window.split()) <= 8 and window in texts[0] for window in windows)


def test_corpus_texts_keep_each_text_once_and_cap_a_source_by_a_seeded_draw():
    sources = {"a": ["first text here", "second text here", "first text here"],
               "b": [f"manual page sentence {i}" for i in range(10)] + ["second text here"]}
    texts = corpus_texts(sources, {"b": 4}, windows=0)
    assert texts[:2] == ["first text here", "second text here"]
    assert len(texts) == 6 and len(set(texts)) == 6
    assert texts == corpus_texts(sources, {"b": 4}, windows=0)


def test_pack_keeps_rows_close_and_loading_checks_the_vocabulary(tmp_path):
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((500, 8)) @ rng.standard_normal((8, 384)) + 0.3  # rank 8 plus an offset
    tokens = [f"token{i}" for i in range(500)]
    path = tmp_path / "general.npz"
    general_table.save(pack(rows, tokens, dims=16), path)
    loaded = general_table.load(path)
    assert isinstance(loaded, GeneralTable) and loaded.rows.dtype == np.int8 and loaded.rows.shape == (500, 16)
    back = general_table.general_rows(tokens, path)
    cosines = (back * rows).sum(1) / np.linalg.norm(back, axis=1) / np.linalg.norm(rows, axis=1)
    assert cosines.min() > 0.999
    with pytest.raises(ValueError, match="another tokenizer vocabulary"):
        general_table.general_rows(tokens[:-1] + ["other"], path)


def test_ridge_mapped_rows_find_the_map_from_summed_rows_to_targets():
    rng = np.random.default_rng(1)
    rows = rng.standard_normal((50, 6))
    mapping = rng.standard_normal((6, 6))
    token_lists = [list(rng.choice(50, size=4, replace=False)) for _ in range(400)]
    sums = np.array([rows[ids].sum(0) for ids in token_lists])
    targets = (sums / np.linalg.norm(sums, axis=1, keepdims=True)) @ mapping
    mapped = ridge_mapped_rows(rows, token_lists, targets, ridge=1e-6)
    assert np.allclose(mapped, rows @ mapping, atol=1e-4)


def test_fit_rows_points_texts_towards_their_targets_and_leaves_unused_rows():
    rng = np.random.default_rng(2)
    rows = rng.standard_normal((30, 8))
    token_lists = [list(rng.choice(20, size=3, replace=False)) for _ in range(100)] + [[]]
    targets = rng.standard_normal((101, 8))
    targets /= np.linalg.norm(targets, axis=1, keepdims=True)

    def mean_cosine(table):
        sums = np.array([table[ids].sum(0) for ids in token_lists[:-1]])
        return float(((sums / np.linalg.norm(sums, axis=1, keepdims=True)) * targets[:-1]).sum(1).mean())

    trained = fit_rows(rows, token_lists, targets, epochs=15, learning_rate=0.05, reg=1e-4, batch=32)
    assert mean_cosine(trained) > mean_cosine(rows) + 0.2
    assert np.allclose(trained[20:], rows[20:])  # tokens 20-29 are in no text
    assert np.array_equal(trained, fit_rows(rows, token_lists, targets, epochs=15, learning_rate=0.05, reg=1e-4,
                                            batch=32))
    assert np.array_equal(fit_rows(rows, token_lists, targets, epochs=0, learning_rate=0.05, reg=0, batch=32), rows)


def test_the_shipped_table_is_small_and_packed():
    table = general_table.load()
    assert general_table.GENERAL_TABLE_FILE.stat().st_size < 10_000_000
    assert table.rows.dtype == np.int8 and table.rows.shape[1] == general_table.PACKED_DIMS
    assert table.basis.shape == (384, general_table.PACKED_DIMS) and len(table.scales) == len(table.rows)
