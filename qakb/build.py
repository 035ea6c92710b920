"""The build: content → questions → topics → embeddings → index + pages → site.

Everything is written into a staging folder first; the new search_index/,
generated pages and site/ replace the old ones only once all of them are built
and checked, so a failed or killed build leaves the previous ones in place.
"""

from __future__ import annotations

import fcntl
import hashlib
import html
import json
import logging
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from qakb import caches
from qakb.config import PLUGIN_NAME, Settings
from qakb.parse import Bank, Question, bank_files, content_hash, parse_content, shown_path
from qakb.session import BuildSession, Deletions


TRASH_DIR = "discarded"  # beside the staging folder: the last build's folders, being deleted


class BuildError(Exception):
    """The build cannot go on; the message says what to do."""


@dataclass(frozen=True)
class BuildResult:
    questions: int
    topics: int
    seconds: float


def project_hash(settings: Settings) -> str:
    """Hash of every input the index is built from: the bank files and the topics file, if there is one."""
    topics_file = [settings.topics_file] if settings.topics_file.is_file() else []
    return content_hash([*bank_files(settings.content_dir), *topics_file])


@contextmanager
def build_lock(settings: Settings):
    settings.staging_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(settings.staging_dir.parent / "build.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError("another build (`qakb build` or a mkdocs command) is running in this project; "
                             "wait for it to finish") from None
        yield lock


def _previous(path: Path) -> Path:
    return path.with_name(path.name + ".previous")


def recover_interrupted_swap(paths: list[Path]) -> None:
    """A build killed between its renames leaves X.previous without X: put it back."""
    for path in paths:
        previous = _previous(path)
        if previous.exists() and not path.exists():
            os.rename(previous, path)


def swap_in(new: Path, dest: Path, trash: Path, deletions: Deletions) -> None:
    """Put `new` in `dest`'s place; the old `dest` goes to `discard` (into `trash`)."""
    previous = _previous(dest)
    if previous.exists():
        shutil.rmtree(previous)
    if dest.exists():
        os.rename(dest, previous)
    os.rename(new, dest)
    if previous.exists():
        discard(previous, trash, deletions)


def discard(folder: Path, trash: Path, deletions: Deletions) -> None:
    """Delete `folder` in the background: it is moved into `trash` at once and removed by a thread,
    so a rebuild does not wait for the ~8,000 files of a 10,000-question site to be unlinked
    (`qakb serve --watch` goes back to serving; a one-shot build's process exits when the thread ends).
    `deletions` lists the folder until its thread is done."""
    trash.mkdir(parents=True, exist_ok=True)
    target = trash / f"{folder.name}-{uuid.uuid4().hex}"
    try:
        os.rename(folder, target)
    except OSError:  # the trash on another file system: delete it here and now
        shutil.rmtree(folder, ignore_errors=True)
        return
    deletions.started(target)

    def remove() -> None:
        shutil.rmtree(target, ignore_errors=True)
        deletions.finished(target)

    threading.Thread(target=remove, name="qakb-discard").start()


def empty_trash(trash: Path, deletions: Deletions) -> None:
    """Remove what an earlier process left in `trash` (it was stopped while deleting); what `deletions`
    lists is being deleted by this session's threads."""
    busy = deletions.busy()
    if trash.is_dir():
        for left in trash.iterdir():
            if left not in busy:
                shutil.rmtree(left, ignore_errors=True)


# An id attribute in the HTML mkdocs writes (attributes quoted; `id="` inside text or code is
# escaped as `id=&quot;`). A regex reads a 10,000-question site in a second, html.parser in ~25 s.
_ID_ATTRIBUTE = re.compile(r"""<[a-zA-Z][^<>]*?\sid=(["'])(.+?)\1""")


def element_ids(html_text: str) -> list[str]:
    """The values of every element's id attribute in `html_text`, in order."""
    return [html.unescape(match.group(2)) for match in _ID_ATTRIBUTE.finditer(html_text)]


def page_ids(page: Path, seen: dict[bytes, list[str]], last: dict[bytes, list[str]]) -> list[str]:
    """element_ids of the page file, from the last check's pages (`last`, by the sha256 of their bytes)
    where it is one of them; adds it to `seen`."""
    data = page.read_bytes()
    digest = hashlib.sha256(data).digest()
    ids = last.get(digest)
    seen[digest] = ids if ids is not None else element_ids(data.decode("utf-8"))
    return seen[digest]


def check_nothing_lost(questions: list[Question], url_of: dict[str, str], index_dir: Path, site_dir: Path,
                       session: BuildSession | None = None) -> None:
    """Every item is in the site exactly once under its anchor (on the page `url_of` gives it),
    and exactly once in the index. `session` keeps the pages' ids for its next check: `qakb serve
    --watch` checks the same 100 topic pages (35 MB at 10k) after every edit, which changes a few."""
    from collections import Counter

    from qakb.engine import Engine
    from qakb.shards import load_metadata

    session = session if session is not None else BuildSession()
    page_of = {anchor: url.partition("#")[0] for anchor, url in url_of.items()}
    ids_by_page: dict[str, Counter] = {}
    seen: dict[bytes, list[str]] = {}
    for page_url in sorted(set(page_of.values())):
        page = site_dir / page_url / "index.html"
        if not page.is_file():
            raise BuildError(f"nothing-lost check: the topic page {page_url} was not built ({page})")
        ids_by_page[page_url] = Counter(page_ids(page, seen, session.page_ids))
    everywhere: Counter = Counter()
    for ids in ids_by_page.values():
        everywhere.update(ids)  # in place: sum() would copy the growing total once a page
    problems = []
    for question in questions:
        page_url = page_of[question.anchor]
        on_own_page = ids_by_page[page_url][question.anchor]
        elsewhere = everywhere[question.anchor] - on_own_page
        if on_own_page != 1 or elsewhere:
            problems.append(f"{question.source}:{question.line}: item {question.number} appears {on_own_page} "
                            f"time(s) on {page_url} and {elsewhere} time(s) elsewhere, not once")
    session.page_ids.clear()
    session.page_ids.update(seen)  # only this build's pages are kept
    engine = Engine.open(index_dir)
    load_metadata(engine)
    indexed = [(hit["source"], hit["number"], hit["id"]) for hit in engine.metadata]
    expected = [(q.source, q.number, q.anchor) for q in questions]
    if sorted(indexed) != sorted(expected) or len(set(indexed)) != len(indexed):
        missing = sorted(set(expected) - set(indexed))
        problems.append(f"the index does not hold every item exactly once (missing: {missing[:5]})")
    if problems:
        raise BuildError("nothing-lost check failed:\n  " + "\n  ".join(problems))


def run_mkdocs(settings: Settings, pages_dir: Path, index_dir: Path, site_dir: Path, session: BuildSession) -> None:
    """mkdocs' build of the site into `site_dir`, the qakb plugin pointed at the staged pages and index
    and handed the build's `session`, so that it runs no pipeline of its own (see `qakb.plugin`)."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort, ConfigurationError, PluginError

    mkdocs_logger = logging.getLogger("mkdocs")
    if not mkdocs_logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("mkdocs %(levelname)s: %(message)s"))
        handler.setLevel(logging.WARNING)
        mkdocs_logger.addHandler(handler)
    try:
        config = load_config(str(settings.mkdocs_file), site_dir=str(site_dir))
        plugin = config.plugins.get(PLUGIN_NAME)
        if plugin is None:
            raise BuildError(f"{settings.mkdocs_file} does not enable the qakb plugin, which adds the pages and "
                             "the search to the site: add `- qakb` under plugins in mkdocs.yml, after `- search`")
        plugin.config.pages_dir = str(pages_dir)
        plugin.config.index_dir = str(index_dir)
        plugin.config.cache_dir = str(settings.cache_dir)
        plugin.handed_over = session
        try:
            mkdocs_build(config)
        finally:  # mkdocs keeps one plugin for the process: its next build may be a plain `mkdocs build`
            plugin.handed_over = None
    except (Abort, ConfigurationError, PluginError) as error:
        raise BuildError(f"mkdocs build --strict failed: {error}") from None


PARALLEL_PAGES_FROM = 1000  # questions; below it, starting a process costs more than it saves


@dataclass(frozen=True)
class PagesJob:
    """What the pages and the Anki deck are made of: everything `write_pages` needs, picklable."""
    bank: Bank
    answers: dict
    topics: tuple
    topic_of: dict
    related_of: dict
    part_of: dict
    record: object
    deck_file: str
    pages_dir: Path
    links: str  # links.json's text
    deck_timestamp: int
    site_name: str
    site_description: str
    site_url: str
    also_asked: dict = field(default_factory=dict)  # anchor: the question's near-duplicates (qakb.duplicates)


def write_pages(job: PagesJob) -> int:
    """Write the generated pages, their images, links.json and the Anki deck into job.pages_dir;
    returns how many images were copied."""
    from qakb.anki import write_deck
    from qakb.markup import MEDIA_DIR
    from qakb.render import LINKS_FILE, render_pages

    pages = render_pages(job.bank, job.answers, job.topics, job.topic_of, job.related_of, job.site_name,
                         job.site_description, deck_file=job.deck_file, part_of=job.part_of,
                         also_asked=job.also_asked)
    pages[LINKS_FILE] = job.links
    for relative, text in pages.items():
        target = job.pages_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    media = {item.name: item.source for answer in job.answers.values() for item in answer.media}
    for name, source in sorted(media.items()):
        target = job.pages_dir / MEDIA_DIR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    write_deck(job.pages_dir / job.deck_file, list(job.bank.questions), job.answers, job.topic_of, job.record,
               job.site_name, job.deck_timestamp, job.site_url, job.site_description)
    return len(media)


class PagesWriting:
    """`write_pages(job)` under way: in a child process (`python -m qakb.build JOB`, which reads the
    pickled job from the file JOB and writes its result beside it), or already done here."""

    def __init__(self, job: PagesJob, in_parallel: bool, lock=None):
        """`lock`: the build's lock file, which the child holds too: if the build is killed, no other
        build starts (and clears the staging folder) until the child has stopped writing into it."""
        self.process = None
        if not in_parallel:
            self.media_count = write_pages(job)
            return
        self.job_file = job.pages_dir.parent / "pages-job.pickle"
        self.job_file.write_bytes(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        self.process = subprocess.Popen([sys.executable, "-m", "qakb.build", str(self.job_file)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        pass_fds=(lock.fileno(),) if lock is not None else ())

    def wait(self) -> None:
        if self.process is not None:
            self.process.communicate()

    def result(self) -> int:
        """The number of images copied; the child's error, raised here, if it failed."""
        if self.process is None:
            return self.media_count
        _, errors = self.process.communicate()
        result_file = self.job_file.with_suffix(".result")
        if not result_file.is_file():
            raise BuildError("the process writing the pages stopped before it was done (exit status "
                             f"{self.process.returncode}): {errors.decode(errors='replace')[-2000:]}")
        failed, value = pickle.loads(result_file.read_bytes())
        if failed:
            raise value
        return value


def _write_pages_in_child(job_file: Path) -> None:
    """The child's side of PagesWriting: Ctrl+C is the parent's to handle (it waits for this)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    job = pickle.loads(job_file.read_bytes())
    try:
        outcome = (False, write_pages(job))
    except Exception as error:  # raised again in the build
        outcome = (True, error)
    job_file.with_suffix(".result").write_bytes(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))


DUPLICATES_SHOWN = 20  # near-duplicate warnings a build prints; `qakb check` lists them all


def duplicate_warnings(pairs: list, questions: list[Question], content_dir: Path) -> list[str]:
    """One warning per near-duplicate pair (`qakb.duplicates.Pair`), the first DUPLICATES_SHOWN of them."""
    by_anchor = {question.anchor: question for question in questions}
    lines = []
    for pair in pairs[:DUPLICATES_SHOWN]:
        first, second = by_anchor[pair.first], by_anchor[pair.second]
        texts = repr(first.question) if first.question == second.question else \
            f"{first.question!r} / {second.question!r}"
        lines.append(f"warning: {shown_path(content_dir / first.source)}:{first.line} and "
                     f"{shown_path(content_dir / second.source)}:{second.line} ask the same question "
                     f"(cosine {pair.cosine:.2f}): {texts}")
    if len(pairs) > DUPLICATES_SHOWN:
        lines.append(f"warning: … and {len(pairs) - DUPLICATES_SHOWN} more: run qakb check")
    return lines


def duplicate_rows(questions: list[Question], also_asked: dict[str, list[Question]]) -> dict[int, set[int]]:
    """`also_asked` as rows of `questions`: what `qakb.related.related_questions` leaves out of each list."""
    row_of = {question.anchor: row for row, question in enumerate(questions)}
    return {row_of[anchor]: {row_of[other.anchor] for other in others} for anchor, others in also_asked.items()}


def step_logger(log: Callable[[str], None]) -> Callable[[str], None]:
    """`log` with each message led by the seconds since this call: one line per build step."""
    started = time.perf_counter()

    def step(message: str) -> None:
        log(f"[{time.perf_counter() - started:6.1f}s] {message}")
    return step


@dataclass(frozen=True)
class Staged:
    """What `stage` wrote into the staging folder for mkdocs, and what putting it in place needs."""
    questions: list[Question]
    topics: int
    url_of: dict[str, str]  # each question's page and anchor
    record: object  # the anchor record (qakb.anchors), written beside the banks once the build is in place
    index_dir: Path
    pages_dir: Path


def stage(settings: Settings, log: Callable[[str], None], step: Callable[[str], None], session: BuildSession,
          lock) -> Staged:
    """The pipeline up to mkdocs: read the banks, render, embed, place, then write the search index,
    the pages and the deck into the staging folder. The caller holds the build lock (`lock`, which
    a child process writing the pages holds too); nothing outside the staging folder changes."""
    from qakb.anchors import RECORD_FILE, links_map, read_record, update_record
    from qakb.anki import deck_file_name, deck_timestamp
    from qakb.embed import Embedder
    from qakb.formats import describe
    from qakb.index import answer_passages, write_index
    from qakb.pages import page_parts, page_url
    from qakb.build_cache import BuildCache
    from qakb.duplicates import also_asked as near_duplicates_of, near_duplicates, question_texts
    from qakb.related import related_questions
    from qakb.topics import place_questions

    with ExitStack() as stack:
        recover_interrupted_swap([settings.index_dir, settings.pages_dir, settings.site_dir])
        empty_trash(settings.staging_dir.parent / TRASH_DIR, session.deletions)
        bank: Bank = parse_content(settings.content_dir, settings.read_options)
        questions = list(bank.questions)
        for source in bank.files:
            for line in describe(source, shown_path(settings.content_dir / source.name)):
                log(line)
        for warning in bank.warnings:
            log(f"warning: {warning}")
        step(f"parsed {len(questions)} questions from {len(bank.files)} file(s)")
        build_cache = BuildCache(settings.cache_dir, session)
        stack.callback(build_cache.close)
        record_path = settings.content_dir / RECORD_FILE
        anchors = update_record(read_record(record_path), questions, build_cache.signatures(questions))
        for rename in anchors.renames:
            log(f"reworded question: old links to #{rename.old} now lead to #{rename.new} ({rename.reason})")
        answers, documents = build_cache.answers(questions, settings.content_dir)
        for answer in answers.values():
            for warning in answer.missing_images:
                log(f"warning: {warning}")
        step(f"rendered the answers' Markdown ({build_cache.rendered_count} rendered, "
             f"{len(questions) - build_cache.rendered_count} from cache)")

        embedder = Embedder(caches.embeddings(settings.cache_dir), kept=session.vectors)
        stack.callback(embedder.close)
        vectors = embedder.encode(documents)
        step(f"embedded with all-MiniLM-L6-v2 ({embedder.encoded_count} new, "
             f"{len(questions) - embedder.encoded_count} from cache)")

        embedded_before = embedder.encoded_count
        pairs = near_duplicates(questions, embedder.encode(question_texts(questions)))
        for line in duplicate_warnings(pairs, questions, settings.content_dir):
            log(line)
        also_asked = near_duplicates_of(questions, pairs)
        step(f"compared the question texts: {len(pairs)} near-duplicate pair(s) "
             f"({embedder.encoded_count - embedded_before} question(s) embedded, the rest from cache)")

        placement = place_questions(questions, vectors, settings.topics_file, embedder.encode,
                                    {source.name: source.title for source in bank.files}, session)
        for warning in placement.warnings:
            log(f"warning: {warning}")
        topic_by_slug = {topic.slug: topic for topic in placement.topics}
        topic_of = {anchor: topic_by_slug[slug] for anchor, slug in placement.topic_of.items()}
        related_of = {
            question.anchor: [questions[j] for j in neighbours]
            for question, neighbours in zip(
                questions, related_questions(vectors, settings.related_min, settings.related_max,
                                             kept=caches.related(settings.cache_dir),
                                             left_out=duplicate_rows(questions, also_asked)))
        }
        part_of = page_parts(questions, topic_of, settings.page_size)
        url_of = {question.anchor: page_url(topic_of[question.anchor].slug, question.anchor, part_of[question.anchor])
                  for question in questions}
        step(f"placed questions in {len(set(placement.topic_of.values()))} topics ({placement.origin}) "
             f"on {len(set(page.partition('#')[0] for page in url_of.values()))} pages")

        staging = settings.staging_dir
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        index_dir, pages_dir = staging / "search_index", staging / "pages"
        deck_file = deck_file_name(settings.site_name)
        pages_job = PagesJob(
            bank=bank, answers=answers, topics=placement.topics, topic_of=topic_of, related_of=related_of,
            part_of=part_of, record=anchors.record, deck_file=deck_file, pages_dir=pages_dir,
            links=json.dumps(links_map(anchors.record, url_of), ensure_ascii=False, indent=0) + "\n",
            deck_timestamp=deck_timestamp(bank_files(settings.content_dir)), site_name=settings.site_name,
            site_description=settings.site_description, site_url=settings.site_url, also_asked=also_asked)
        # Pages and deck need neither the index nor the model: for a big bank another process
        # writes them while this one writes the index (2 s of the 10k rebuild's ~4 s index step).
        pages_written = PagesWriting(pages_job, in_parallel=len(questions) >= PARALLEL_PAGES_FROM, lock=lock)
        embedded_before = embedder.encoded_count
        step("training the static query encoder (the first build also distils the model: ~30 s)")
        passages = [answer_passages(answers[question.anchor].text) for question in questions]
        try:
            write_index(index_dir, questions, documents, passages, topic_of, vectors, project_hash(settings),
                        settings.cache_dir, embed=embedder.encode, part_of=part_of,
                        shard_above=settings.shard_above, shard_list_size=settings.shard_list_size,
                        previous=settings.index_dir, session=session)
        except BaseException:
            pages_written.wait()  # nothing may still write into the staging folder the next build clears
            raise
        step(f"trained the static query encoder ({embedder.encoded_count - embedded_before} new bank passages "
             f"embedded) and wrote the search index ({sum(p.stat().st_size for p in index_dir.iterdir()) / 1e6:.2f} MB)")

        media_count = pages_written.result()
        step(f"rendered the topic pages ({media_count} image(s) copied)")
        step(f"wrote the Anki deck {deck_file}")
    return Staged(questions=questions, topics=len(set(placement.topic_of.values())), url_of=url_of,
                  record=anchors.record, index_dir=index_dir, pages_dir=pages_dir)


def staged_site_dir(settings: Settings) -> Path:
    """Where the site is built before it is swapped in: the staging folder, or a hidden folder beside
    `site_dir` when that lies outside the project (`mkdocs build -d ELSEWHERE`), so that the swap
    stays a rename on one file system."""
    if settings.site_dir.resolve().is_relative_to(settings.root.resolve()):
        return settings.staging_dir / "site"
    return settings.site_dir.with_name(f".{settings.site_dir.name}.staging")


def put_in_place(settings: Settings, staged: Staged, session: BuildSession, step: Callable[[str], None],
                 site_dir: Path | None) -> None:
    """Swap the staged index, pages and site (`site_dir`; None: mkdocs wrote the site where it is
    served, as `mkdocs serve` does) into place, then write the anchor record."""
    from qakb.anchors import RECORD_FILE, write_record

    trash = settings.staging_dir.parent / TRASH_DIR
    swaps = [(staged.index_dir, settings.index_dir), (staged.pages_dir, settings.pages_dir)]
    if site_dir is not None:
        swaps.append((site_dir, settings.site_dir))
    for new, dest in swaps:
        dest.parent.mkdir(parents=True, exist_ok=True)
        swap_in(new, dest, trash, session.deletions)
    shutil.rmtree(settings.staging_dir, ignore_errors=True)
    record_path = settings.content_dir / RECORD_FILE
    if write_record(record_path, staged.record):
        step(f"updated {shown_path(record_path)}: commit it with the bank, it keeps links "
             "to reworded questions working")
    done = ([settings.site_dir] if site_dir is not None else []) + [settings.index_dir]
    step(f"done: {' and '.join(_shown(dest, settings.root) + '/' for dest in done)} "
         f"{'are' if len(done) > 1 else 'is'} up to date")


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def build(settings: Settings, log: Callable[[str], None], session: BuildSession | None = None) -> BuildResult:
    """Run the whole pipeline; on success the new index, pages and site are in place.

    `session`: what the last build in this process left for this one, and where this one leaves its
    own (`qakb.session`); `qakb serve --watch` hands every rebuild the same one. None: a new one.
    Run by mkdocs alone (`mkdocs build`), the qakb plugin runs the same steps (`qakb.plugin.pipeline`)."""
    started = time.perf_counter()
    session = session if session is not None else BuildSession()
    step = step_logger(log)
    with build_lock(settings) as lock:
        staged = stage(settings, log, step, session, lock)
        site_dir = staged_site_dir(settings)
        shutil.rmtree(site_dir, ignore_errors=True)
        run_mkdocs(settings, staged.pages_dir, staged.index_dir, site_dir, session)
        check_nothing_lost(staged.questions, staged.url_of, staged.index_dir, site_dir, session)
        step("built the site with mkdocs --strict; every item is in the site and the index once")
        put_in_place(settings, staged, session, step, site_dir)
    return BuildResult(questions=len(staged.questions), topics=staged.topics, seconds=time.perf_counter() - started)


if __name__ == "__main__":  # the child process of PagesWriting
    _write_pages_in_child(Path(sys.argv[1]))
