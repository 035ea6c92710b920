"""The run-time search engine, shared by `qakb ask` and the browser (Pyodide).

Standard library only, CPython 3.11+ and Pyodide (3.13/3.14): it never imports a build-time
module (the build imports it). The browser gets exactly this package, as the wheel
qakb.plugin.engine_wheel builds. It reads search_index/, which FORMAT.md (beside this file)
describes; `qakb.index` writes it.

    arrays       little-endian arrays and dot products
    tokenizer    the query's WordPiece tokens, as HF's tokenizer gives them
    encoder      the static encoder: a text's vector from its tokens' rows
    bm25         BM25 terms and scores
    speller      query words read as the bank's words
    format       file names and the manifest (FORMAT_VERSION)
    storage      what ranking reads of an index, whatever its layout
    whole        ... read whole when it opens
    sharded      ... read shard by shard as queries need them
    reader       opening an index: its manifest checked, then its layout
    calibration  how sure a hit is
    ranking      Engine: evidence, fusion, hits and snippets
"""

from qakb.engine.format import FORMAT_VERSION, Manifest, SearchIndexError
from qakb.engine.ranking import Engine, Hit
from qakb.engine.storage import ShardsMissing

__all__ = ["FORMAT_VERSION", "Engine", "Hit", "Manifest", "SearchIndexError", "ShardsMissing"]
