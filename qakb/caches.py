"""Every file and folder qakb keeps in a project's cache folder, named in one place.

The cache folder is the `cache_dir` option (`.cache/` beside mkdocs.yml unless QAKB_CACHE_DIR
names another, which several projects may share: qakb.config.cache_folder). Anything in it
may be deleted: the next build makes it again, only slower. Nothing in it is served stale:
each entry is keyed by everything it is made from, or checked against it when used; each
function below says which, and what it holds. The modules that read and write an entry take
its path from here.

What a build keeps in memory for the next build in the same process is not here: see `qakb.session`.

Standard library only: the mkdocs plugin imports it.
"""

from __future__ import annotations

from pathlib import Path


def embeddings(cache_dir: Path) -> Path:
    """embeddings.sqlite: the transformer's vector of every text embedded (`qakb.embed`), by model,
    precision and the text's sha256. Never stale (the key names what made the vector); never trimmed."""
    return cache_dir / "embeddings.sqlite"


def results(cache_dir: Path) -> Path:
    """build-cache.sqlite (`qakb.result_store`): results keyed by a hash of everything they are made
    from, the code and library versions that shape them included, so a changed input is a new key;
    one kind of result each below. Each row remembers when it was last used, so a kind can be cut
    back to its most recently used rows."""
    return cache_dir / "build-cache.sqlite"


# The kinds of result in `results`:
ANSWERS = "answer"  # rendered answers, HTML and text (qakb.build_cache); not those with images; not cut back
SIGNATURES = "signature"  # answers' SimHash signatures (qakb.build_cache, for qakb.anchors); not cut back
TOKENS = "bm25-terms"  # documents' words and BM25 terms (qakb.query_encoder); two builds' worth kept
PAGES = "page"  # generated pages as mkdocs rendered them (qakb.plugin.page_cache); two builds' worth kept
SEARCH_ENTRIES = "search"  # a page's entries in Material's keyword search (qakb.plugin.page_cache); likewise


def related(cache_dir: Path) -> Path:
    """related.npz: the last build's related questions and each question's vector digest (`qakb.related`).
    A row whose vector or neighbours changed is compared again; the file is replaced by every build."""
    return cache_dir / "related.npz"


def distilled_models(cache_dir: Path) -> Path:
    """model2vec/<key>/: model2vec's distillation of all-MiniLM-L6-v2, its tokenizer and its character
    classes (`qakb.query_encoder.distilled_model`), keyed by the model and model2vec's version: an
    upgrade distils into a new folder."""
    return cache_dir / "model2vec"


def static_tables(cache_dir: Path) -> Path:
    """static-table/*.npz: fitted static-encoder tables (`qakb.query_encoder.cached_table`), by a hash
    of the code, settings, distilled model and training texts. A table fitted to nearly the same texts
    serves too; the most recently used few are kept."""
    return cache_dir / "static-table"


def eval_indexes(cache_dir: Path) -> Path:
    """eval-index/<key>/: the search index of a content folder alone, for `qakb evaluate` and the
    benchmarks (`qakb.evaluate.index_for_content`), keyed by the banks, the transformer's precision and
    the index-writing code."""
    return cache_dir / "eval-index"


def eval_banks(cache_dir: Path) -> Path:
    """eval-banks/<bank>/content/: each bank of a `qakb eval --banks` spec, the files it lists copied
    into one content folder (`qakb.eval_banks`; `--work` names another place); a file is copied
    again whenever its bytes differ from the listed one's, and a file no longer listed is removed."""
    return cache_dir / "eval-banks"


def npm(cache_dir: Path) -> Path:
    """npm/<hash of the lock>/node_modules/: the pinned browser runtime, Pyodide, KaTeX and ts-fsrs
    (`qakb.plugin.runtime`); a new pin installs into a new folder."""
    return cache_dir / "npm"


def engine_wheels(cache_dir: Path) -> Path:
    """engine-wheel/<key>/: the engine as a Pyodide wheel and the lock file listing it
    (`qakb.plugin.engine_wheel`), keyed by the engine's sources, the recipe and Pyodide's lock."""
    return cache_dir / "engine-wheel"


def pyodide_snapshots(cache_dir: Path) -> Path:
    """pyodide-snapshot/: memory snapshots of Pyodide with the engine imported (option
    pyodide_snapshot; `qakb.plugin.search_assets`), named by Pyodide's files, the engine and the script."""
    return cache_dir / "pyodide-snapshot"


def trimmed_stdlibs(cache_dir: Path) -> Path:
    """stdlib/: trimmed standard-library archives (option trim_stdlib; `qakb.plugin.stdlib`), named by
    Pyodide's archive, the engine's wheel and the script that lists the modules."""
    return cache_dir / "stdlib"


def compressed(cache_dir: Path) -> Path:
    """compressed/: .gz and .br copies of site files by the sha256 of their bytes (and brotli's quality
    where it is not 11; `qakb.plugin.compress`), hard-linked into the site. Never stale; never trimmed."""
    return cache_dir / "compressed"
