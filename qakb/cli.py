"""The `qakb` command: make a site folder, build the site and index, serve it, ask questions, evaluate search."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import threading
from dataclasses import asdict
from pathlib import Path

from qakb import caches
from qakb.config import load_settings
from qakb.parse import ParseError

EXIT_ERROR = 1


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_new(args, settings) -> int:
    from qakb.scaffold import URL_EXAMPLE, WORKFLOW, new_site

    from qakb.formats import describe

    site = new_site(args.folder, args.bank, title=args.title, format=args.format, url=args.url)
    for path, source in site.sources:
        for line in describe(source, str(path)):
            _log(line)
    for warning in site.warnings:
        _log(f"warning: {warning}")
    images = f" and {len(site.images)} image(s)" if site.images else ""
    print(f"made {site.folder}: \"{site.site_name}\", {site.questions} questions from "
          f"{', '.join(site.banks)}{images} in content/")
    enter = "" if site.folder == Path.cwd().resolve() else f"cd {shlex.quote(str(args.folder))} && "
    print(f"next: {enter}qakb build && qakb serve")
    if site.site_url is None:
        print(f"site_url is not set: once you know the address the site will be published at, set it in "
              f"mkdocs.yml (on GitHub Pages: {URL_EXAMPLE}), or make the folder with qakb new --url URL")
    print(f"to publish on GitHub Pages: push the folder to a repository on GitHub and set Settings > Pages > "
          f"Source to GitHub Actions; {WORKFLOW} builds and publishes it. On any other host: upload site/")
    if site.requirement_note:
        _log(f"note: {site.requirement_note}")
    return 0


def cmd_build(args, settings) -> int:
    from qakb.build import build

    result = build(settings, log=_log)
    _log(f"built {result.questions} questions in {result.topics} topics in {result.seconds:.1f} s")
    return 0


def _open_engine(settings):
    from qakb.build import project_hash
    from qakb.engine import Engine

    return Engine.open(settings.index_dir, content_hash=project_hash(settings))


def cmd_ask(args, settings) -> int:
    engine = _open_engine(settings)
    if args.exact:
        from qakb.embed import encode_texts
        from qakb.index import search_transformer

        vector = encode_texts([args.query])
        rows = search_transformer(settings.index_dir, vector, args.k)[0]
        # metadata.json has transformer.faiss's row order (a sharded engine orders rows by list).
        metadata = json.loads((settings.index_dir / "metadata.json").read_text(encoding="utf-8"))
        hits = [{**metadata[row], "score": score} for row, score in rows]
    else:
        hits = [asdict(hit) for hit in engine.search(args.query, k=args.k, method=args.method)]
    if args.json:
        print(json.dumps(hits, ensure_ascii=False, indent=1))
        return 0
    if not hits:
        print("no matching questions")
    elif not hits[0].get("close", True):
        print("no close question in this bank; the nearest ones:")
    styled = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    for rank, hit in enumerate(hits, start=1):
        flag = "  [needs review]" if hit["needs_review"] else ""
        cue = f"{hit['cue']:<12}  " if "cue" in hit else ""
        print(f"{rank:2d}. {hit['score']:.3f}  {cue}{hit['question']}{flag}")
        if hit.get("snippet"):
            print(f"    {marked_text(hit['snippet'], hit['marks'], styled)}")
        print(f"    {hit['topic_title']} · {hit['url']}")
    return 0


def marked_text(text: str, marks: list[list[int]], styled: bool) -> str:
    """The snippet with the query's words in bold: ANSI on a terminal, **Markdown** otherwise."""
    start_mark, end_mark = ("\033[1m", "\033[0m") if styled else ("**", "**")
    out, at = [], 0
    for start, end in marks:
        out += [text[at:start], start_mark, text[start:end], end_mark]
        at = end
    return "".join(out + [text[at:]])


def cmd_serve(args, settings) -> int:
    from qakb.serve import make_server

    if not args.watch and not (settings.site_dir / "index.html").is_file():
        _log(f"error: {settings.site_dir} has no built site; run `qakb build` first (or `qakb serve --watch`)")
        return EXIT_ERROR
    server = make_server(settings.site_dir, args.host, args.port, site_url=settings.site_url)
    host, port = server.server_address[:2]
    _log(f"serving {settings.site_dir} at http://{host}:{port}/ (Ctrl+C stops)")
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    stop = threading.Event()
    try:
        if args.watch:
            server.build = 0
            _watch(settings, stop, server)
        else:
            serving.join()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
    return 0


def _watch(settings, stop, server) -> None:
    from qakb.build import BuildError, build
    from qakb.embed import load_model
    from qakb.engine import SearchIndexError
    from qakb.session import BuildSession
    from qakb.watch import watch_and_build

    # Loaded while the first build (most often one with nothing to embed) runs: the first edit
    # then waits for nothing.
    threading.Thread(target=load_model, daemon=True).start()
    session = BuildSession()  # every rebuild takes what the last one left in it

    def build_once(current) -> None:
        result = build(current, log=_log, session=session)
        server.build += 1  # open pages reload themselves
        _log(f"built {result.questions} questions in {result.topics} topics in {result.seconds:.1f} s; "
             "open pages reload; watching for changes")

    _log(f"watching {_shown_path(settings.content_dir, Path.cwd())}/, {_shown_path(settings.docs_dir, Path.cwd())}/ "
         f"and {settings.mkdocs_file.name}: a change rebuilds the site")
    watch_and_build(settings.root, build_once, _log, stop,
                    errors=(ParseError, BuildError, SearchIndexError, ValueError))


def cmd_export(args, settings) -> int:
    from qakb.anchors import RECORD_FILE, read_record
    from qakb.anki import deck_file_name, deck_timestamp, write_deck
    from qakb.markup import render_answers
    from qakb.parse import bank_files, parse_content
    from qakb.topics import Topic

    # The topics are the built index's: exporting places no question and loads no model.
    engine = _open_engine(settings)
    bank = parse_content(settings.content_dir, settings.read_options)
    questions = list(bank.questions)
    record = read_record(settings.content_dir / RECORD_FILE)
    if record is None or set(record.id_of()) != {question.anchor for question in questions}:
        _log(f"error: {_shown_path(settings.content_dir / RECORD_FILE, settings.root)} does not match the bank; "
             "run `qakb build` first")
        return EXIT_ERROR
    topic_of = {row["id"]: Topic(row["topic"], row["topic_title"], "") for row in engine.metadata}
    output = args.output or Path(deck_file_name(settings.site_name))
    count = write_deck(output, questions, render_answers(questions, settings.content_dir), topic_of, record,
                       settings.site_name, deck_timestamp(bank_files(settings.content_dir)), settings.site_url,
                       settings.site_description)
    print(f"wrote {output}: an Anki deck of {count} notes; import it in Anki (File > Import), "
          "again after the bank changes: the notes are updated, not copied")
    return 0


def cmd_eval(args, settings) -> int:
    if args.banks:
        return _eval_banks(args, settings)
    from qakb.evaluate import format_table, index_for_content, run_evaluation

    if not args.queries.is_file():
        _log(f"error: no query set at {args.queries}; --queries names a YAML list of queries written for this "
             "bank, each with `query:` and `relevant:` (the numbers or question texts of the items that answer it)")
        return EXIT_ERROR
    if args.content:
        index_dir = index_for_content(args.content.resolve(), settings.cache_dir)
    else:
        _open_engine(settings)
        index_dir = settings.index_dir
    print(format_table(run_evaluation(index_dir, args.queries, transformer=not args.no_transformer)))
    return 0


def _eval_banks(args, settings) -> int:
    from qakb.eval_banks import format_report, report_json, run

    if not args.banks.is_file():
        _log(f"error: no bank spec at {args.banks}; --banks names a YAML file listing banks "
             "(name, field, content, heldout), as scripts/eval-banks.yml does")
        return EXIT_ERROR
    report = run(args.banks, settings.cache_dir, work=args.work and args.work.resolve(), only=tuple(args.bank),
                 transformer=not args.no_transformer, log=_log)
    print(format_report(report))
    if args.json:
        args.json.write_text(report_json(report) + "\n", encoding="utf-8")
    return 0 if report.results else EXIT_ERROR


def cmd_topics(args, settings) -> int:
    from qakb.embed import Embedder
    from qakb.markup import answers_and_documents
    from qakb.parse import parse_content
    from qakb.topics import ORIGIN_SECTIONS, ORIGIN_TOPICS_FILE, automatic_placement, place_questions, write_topics_file

    topics_file = settings.topics_file
    shown_file = _shown_path(topics_file, settings.root)
    if args.force and not args.write:
        _log("error: --force only goes with --write")
        return EXIT_ERROR
    if args.write and topics_file.exists() and not args.force:
        _log(f"error: {shown_file} exists and decides the topics; `qakb topics --write --force` replaces it "
             "with topics made from the bank's sections (or discovered in its questions)")
        return EXIT_ERROR
    bank = parse_content(settings.content_dir, settings.read_options)
    questions = list(bank.questions)
    _, documents = answers_and_documents(questions, settings.content_dir)
    embedder = Embedder(caches.embeddings(settings.cache_dir))
    try:
        vectors = embedder.encode(documents)
        titles = {source.name: source.title for source in bank.files}
        if args.write:
            placement = automatic_placement(questions, vectors, titles, embed=embedder.encode)
            pins = write_topics_file(topics_file, placement, questions, vectors, embedder.encode)
        else:
            placement = place_questions(questions, vectors, topics_file, embedder.encode, titles)
    finally:
        embedder.close()
    origin = {
        ORIGIN_TOPICS_FILE: f"from {shown_file}",
        ORIGIN_SECTIONS: f"from the bank's sections (there is no {shown_file})",
    }.get(placement.origin, f"discovered in the questions (there is no {shown_file} and the bank has no sections)")
    print(f"{len(placement.topics)} topics for {len(questions)} questions, {origin}")
    several_files = len(bank.files) > 1
    for topic in placement.topics:
        members = [question for question in questions if placement.topic_of[question.anchor] == topic.slug]
        print(f"\n{topic.title}  [{topic.slug}, {len(members)} question{'s' if len(members) != 1 else ''}]")
        for question in members:
            where = f"{question.source} " if several_files else ""
            print(f"  {where}{question.number:>3}. {question.question}")
    for warning in placement.warnings:
        _log(f"warning: {warning}")
    if args.write:
        _log(f"wrote {shown_file}: {len(placement.topics)} topics, {pins} pin(s) for questions the descriptions "
             "alone would place in another topic; edit it and run `qakb build`")
    return 0


def cmd_check(args, settings) -> int:
    from qakb.check import check

    content_dir = args.content.resolve() if args.content else settings.content_dir
    embedder = None
    if not args.no_model:
        from qakb.embed import Embedder

        embedder = Embedder(caches.embeddings(settings.cache_dir))
    try:
        report = check(content_dir, None if args.content else settings.read_options, embedder, log=_log)
    finally:
        if embedder is not None:
            embedder.close()
    for line in report.lines():
        print(line)
    print(report.summary())
    return EXIT_ERROR if report.problems else 0


def _shown_path(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _format_names() -> tuple[str, ...]:
    from qakb.formats import format_names

    return format_names()


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="qakb", description="Build and search a static-site Q&A knowledge base.",
        epilog="A site from a bank of your own: `qakb new DIR --bank FILE.md`, then inside DIR "
        "`qakb build`, `qakb serve` and `qakb ask QUERY`.")
    main_parser.add_argument("--project", type=Path, default=Path.cwd(), metavar="DIR",
                             help="site folder holding mkdocs.yml and content/ (default: the current folder)")
    commands = main_parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    new_parser = commands.add_parser("new", help="make a site folder from a bank file",
                                     description="Make DIR (new or empty) a site folder: mkdocs.yml named after "
                                     "the bank's title, content/ with the bank(s) and the images they show, "
                                     "docs/about.md, a README, requirements.txt and a GitHub Pages workflow "
                                     "(.github/workflows/pages.yml). Then run `qakb build` inside it.")
    new_parser.add_argument("folder", type=Path, metavar="DIR")
    new_parser.add_argument("--bank", type=Path, action="append", default=[], metavar="FILE",
                            help="a bank file as its author publishes it (Markdown, CSV, TSV, JSON, YAML or an "
                            "Anki .apkg), or a folder of them (one topic per file); repeat for several "
                            "(default: a small example bank)")
    new_parser.add_argument("--format", choices=_format_names(), metavar="NAME",
                            help="the banks' format, where detection guesses wrong: "
                            + ", ".join(_format_names()) + " (default: detected from each file's structure)")
    new_parser.add_argument("--title", help="the site's name (default: the first bank's title)")
    new_parser.add_argument("--url", metavar="URL",
                            help="the address the site will be published at, mkdocs.yml's site_url "
                            "(e.g. https://USER.github.io/REPO/; default: unset, to set later)")
    new_parser.set_defaults(handler=cmd_new, needs_project=False)

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
    serve_parser.add_argument("--watch", action="store_true",
                              help="build now and again whenever the bank, the pages or mkdocs.yml change "
                              "(one process: the model loads once, so a rebuild after an edit is quick)")
    serve_parser.set_defaults(handler=cmd_serve)

    eval_parser = commands.add_parser("eval", help="measure search quality on labelled query sets",
                                      description="Print recall@1, recall@5 and MRR of BM25, the static "
                                      "model, their fusion and the transformer on both sides: on one query set "
                                      "(--queries), or on every bank of a spec, each held out in turn (--banks).")
    # No default: a query set names items of one bank, so it is written for the bank it measures.
    sets = eval_parser.add_mutually_exclusive_group(required=True)
    sets.add_argument("--queries", type=Path, metavar="FILE",
                      help="the labelled query set: a YAML list of queries, each with `query:` and "
                      "`relevant:` (the numbers or exact question texts of the items that answer it)")
    sets.add_argument("--banks", type=Path, metavar="SPEC",
                      help="leave-one-bank-out over the banks a YAML spec lists (scripts/eval-banks.yml): "
                      "each bank's index built (and cached), its held-out queries scored with whatever is "
                      "fitted across banks taken from the others; a bank whose files are absent is skipped")
    eval_parser.add_argument("--content", type=Path, metavar="DIR",
                             help="with --queries: measure the bank files in DIR instead of this site's built "
                             "index (their index is built without a site and cached)")
    eval_parser.add_argument("--bank", action="append", default=[], metavar="NAME",
                             help="with --banks: report on this bank only (repeatable; the others still train)")
    eval_parser.add_argument("--work", type=Path, metavar="DIR",
                             help="with --banks: where each bank's files are gathered (default: the cache's "
                             "eval-banks/)")
    eval_parser.add_argument("--json", type=Path, metavar="FILE", help="with --banks: also write every cell as JSON")
    eval_parser.add_argument("--no-transformer", action="store_true",
                             help="leave out the transformer (no torch loaded)")
    eval_parser.set_defaults(handler=cmd_eval)
    export_parser = commands.add_parser("export", help="write the bank as an Anki deck",
                                        description="Write an Anki deck (.apkg): one note per question, the "
                                        "answer as the site shows it (code, math, images), tagged by topic, "
                                        "difficulty and needs-review. Note ids stay the same across builds, "
                                        "reordering and rewording, so importing a newer deck updates the notes. "
                                        "Run `qakb build` first: the topics come from the built index.")
    export_parser.add_argument("format", choices=["anki"], help="the deck format (anki)")
    export_parser.add_argument("-o", "--output", type=Path, metavar="FILE.apkg",
                               help="where to write it (default: the site's name as FILE.apkg, here)")
    export_parser.set_defaults(handler=cmd_export)
    topics_parser = commands.add_parser("topics", help="show (or save) which topic each question goes to",
                                        description="Print the topics and their questions as the build places "
                                        "them: by topics.yml if there is one, else by the bank's sections, else "
                                        "by topics discovered in the questions. --write saves the sections or "
                                        "discovered topics as topics.yml, with pins that keep every question "
                                        "where it is, for you to edit.")
    topics_parser.add_argument("--write", action="store_true",
                               help="save the topics from sections or discovery as the topics file")
    topics_parser.add_argument("--force", action="store_true", help="with --write: replace an existing topics file")
    topics_parser.set_defaults(handler=cmd_topics)
    check_parser = commands.add_parser("check", help="report problems in the banks, without building",
                                       description="An editor's report on the content folder, without building "
                                       "the site: what was read from each bank file, then one `file:line: what` "
                                       "line per problem: questions that ask the same thing (in one file or "
                                       "across files), questions without an answer, section headings with no "
                                       "questions, links in answers to missing files or to no question's "
                                       "#anchor, and missing images (all of them). Exit status 0 when there is "
                                       "nothing to report, 1 otherwise. Finding the near-duplicates loads the "
                                       "sentence-transformer (a few seconds, and the first time each question "
                                       "text is embedded; the build's cache is shared); --no-model skips them.")
    check_parser.add_argument("--no-model", action="store_true",
                              help="do not look for near-duplicate questions (no model is loaded)")
    check_parser.add_argument("--content", type=Path, metavar="DIR",
                              help="check the bank files in DIR instead of this site's content folder")
    check_parser.set_defaults(handler=cmd_check)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "k", 1) < 1:
        _log("error: -k must be at least 1")
        return EXIT_ERROR
    from qakb.build import BuildError
    from qakb.engine import SearchIndexError

    try:
        settings = load_settings(args.project) if getattr(args, "needs_project", True) else None
        code = args.handler(args, settings)
        sys.stdout.flush()  # here, where a reader that went away is handled, not at exit
        return code
    except (ParseError, BuildError, SearchIndexError, ValueError) as error:
        _log(f"error: {error}")
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader of our output went away (`qakb ask ... | head`): stop quietly, as Unix tools do;
        # stdout goes to /dev/null so Python's own flush at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
