"""The `qakb` command: build the site and index, ask questions, serve the site, evaluate search."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from qakb.config import load_settings
from qakb.parse import ParseError

EXIT_ERROR = 1


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_build(args, settings) -> int:
    from qakb.build import build

    result = build(settings, log=_log)
    _log(f"built {result.questions} questions in {result.topics} topics in {result.seconds:.1f} s")
    return 0


def _open_engine(settings):
    from qakb.build import project_hash
    from qakb.search import Engine

    return Engine.open(settings.index_dir, content_hash=project_hash(settings))


def cmd_ask(args, settings) -> int:
    engine = _open_engine(settings)
    if args.exact:
        from qakb.embed import load_model
        from qakb.index import search_transformer

        vector = load_model().encode([args.query], normalize_embeddings=True)
        rows = search_transformer(settings.index_dir, vector, args.k)[0]
        hits = [{**engine.metadata[row], "score": score} for row, score in rows]
    else:
        hits = [asdict(hit) for hit in engine.search(args.query, k=args.k, method=args.method)]
    if args.json:
        print(json.dumps(hits, ensure_ascii=False, indent=1))
        return 0
    if not hits:
        print("no matching questions")
    for rank, hit in enumerate(hits, start=1):
        flag = "  [needs review]" if hit["needs_review"] else ""
        print(f"{rank:2d}. {hit['score']:.3f}  {hit['question']}{flag}")
        print(f"           {hit['topic_title']} · {hit['url']}")
    return 0


def cmd_serve(args, settings) -> int:
    from qakb.serve import make_server

    if not (settings.site_dir / "index.html").is_file():
        _log(f"error: {settings.site_dir} has no built site; run `qakb build` first")
        return EXIT_ERROR
    server = make_server(settings.site_dir, args.host, args.port)
    host, port = server.server_address[:2]
    _log(f"serving {settings.site_dir} at http://{host}:{port}/ (Ctrl+C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_eval(args, settings) -> int:
    from qakb.evaluate import format_table, run_evaluation

    _open_engine(settings)
    print(format_table(run_evaluation(settings.index_dir, Path(args.queries))))
    return 0


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="qakb", description="Build and search a static-site Q&A knowledge base.")
    main_parser.add_argument("--project", type=Path, default=Path.cwd(),
                             help="project folder holding mkdocs.yml and content/ (default: the current folder)")
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build_parser = commands.add_parser("build", help="parse the bank, embed, index and build the site",
                                       description="Parse content/, place questions in topics, embed them, "
                                       "write search_index/ and build site/ with mkdocs --strict. The previous "
                                       "site and index stay in place unless the whole build succeeds.")
    build_parser.set_defaults(handler=cmd_build)

    ask_parser = commands.add_parser("ask", help="search the built index from the terminal",
                                     description="Print the questions closest to QUERY, using the same engine "
                                     "and ranking as the site's search box.")
    ask_parser.add_argument("query", metavar="QUERY")
    ask_parser.add_argument("-k", type=int, default=5, help="how many results (default 5)")
    ask_parser.add_argument("--json", action="store_true", help="print the results as JSON")
    ask_parser.add_argument("--method", choices=["fused", "static", "bm25"], default="fused",
                            help="ranking of the browser engine (default: fused)")
    ask_parser.add_argument("--exact", action="store_true",
                            help="rank with the full sentence-transformer against transformer.faiss "
                            "(slower: loads torch)")
    ask_parser.set_defaults(handler=cmd_ask)

    serve_parser = commands.add_parser("serve", help="serve the built site on localhost",
                                       description="Serve site/ over HTTP (with the .wasm MIME type Pyodide needs).")
    serve_parser.add_argument("--host", default="127.0.0.1")
    serve_parser.add_argument("--port", type=int, default=8000)
    serve_parser.set_defaults(handler=cmd_serve)

    eval_parser = commands.add_parser("eval", help="measure search quality on a labelled query set",
                                      description="Print recall@1, recall@5 and MRR of BM25, the static "
                                      "model, their fusion and the transformer on both sides.")
    eval_parser.add_argument("--queries", default="tests/data/queries.yml", help="YAML query set")
    eval_parser.set_defaults(handler=cmd_eval)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "k", 1) < 1:
        _log("error: -k must be at least 1")
        return EXIT_ERROR
    from qakb.build import BuildError
    from qakb.search import SearchIndexError

    try:
        settings = load_settings(args.project)
        return args.handler(args, settings)
    except (ParseError, BuildError, SearchIndexError, ValueError) as error:
        _log(f"error: {error}")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
