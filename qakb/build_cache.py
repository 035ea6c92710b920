"""What a rebuild can take from the last build instead of redoing: rendered answers and answer
signatures, keyed by a hash of everything they are made from.

Rendering 10,000 answers (Markdown, Pygments, the sanitiser) takes most of a minute and their
SimHash signatures (`qakb.anchors`) ~10 s more; a rebuild after editing one answer should
redo one. The cache is one SQLite file in the project's cache folder, beside the embeddings.
Keys include the code and library versions that shape the result, so an upgrade re-renders.
An answer with images, found or not, is never cached: its images are looked up again on every
build, so a missing file is reported each time.
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version
from pathlib import Path

from qakb import caches
from qakb.anchors import answer_signature
from qakb.markup import Answer, AnswerRenderer, document_text
from qakb.parse import Question
from qakb.progress import progress_bar
from qakb.result_store import ResultStore
from qakb.session import BuildSession

# The libraries whose versions change a rendered answer's bytes.
RENDERING_LIBRARIES = ("markdown", "pymdown-extensions", "pygments", "nh3")


def _code_version(*modules: str) -> str:
    digest = hashlib.sha256()
    for module in modules:
        digest.update((Path(__file__).with_name(module)).read_bytes())
    for library in RENDERING_LIBRARIES:
        digest.update(f"{library}=={version(library)}".encode())
    return digest.hexdigest()


class BuildCache:
    def __init__(self, cache_dir: Path, session: BuildSession | None = None):
        """`session`: where the last build in this process left the answers and signatures it used
        (`qakb serve --watch` looks up the same 10,000 of each after every edit; an edit changes one)."""
        self._store = ResultStore(cache_dir)
        self._session = session if session is not None else BuildSession()
        self.rendered_count = 0

    def close(self) -> None:
        self._store.close()

    def answers(self, questions: list[Question], content_dir: Path) -> tuple[dict[str, Answer], list[str]]:
        """`qakb.markup.answers_and_documents`, rendering only the answers not rendered before."""
        code = _code_version("markup.py", "limits.py")
        keys = [hashlib.sha256(json.dumps([code, q.anchor, q.source, list(q.answer_lines)]
                                          + ([list(q.prompt_lines)] if q.prompt_lines else [])).encode()).hexdigest()
                for q in questions]
        in_process = self._session.answers.kept(self._store, keys)
        cached = self._store.lookup(caches.ANSWERS, [key for key in keys if key not in in_process])
        renderer = None
        answers: dict[str, Answer] = {}
        new: dict[str, str] = {}
        kept: dict[str, Answer] = {}
        with progress_bar(sum(key not in cached and key not in in_process for key in keys),
                          "rendering answers", "answers") as bar:
            for question, key in zip(questions, keys):
                if key in in_process:
                    answers[question.anchor] = kept[key] = in_process[key]
                    continue
                if key in cached:
                    html, text, *prompt = json.loads(cached[key])
                    answers[question.anchor] = kept[key] = Answer(html=html, text=text, media=(),
                                                                  prompt_html=prompt[0] if prompt else "")
                    continue
                renderer = renderer or AnswerRenderer(content_dir)
                answer = renderer.render(question)
                answers[question.anchor] = answer
                self.rendered_count += 1
                if not answer.media and not answer.missing_images:
                    new[key] = json.dumps([answer.html, answer.text] + ([answer.prompt_html] if answer.prompt_html else []),
                                          ensure_ascii=False)
                    kept[key] = answer
                bar.update()
        self._store.store(caches.ANSWERS, new)
        self._session.answers.replace(self._store, kept)
        return answers, [document_text(question, answers[question.anchor]) for question in questions]

    def signatures(self, questions: list[Question]) -> dict[str, str]:
        """Each question's answer signature (`qakb.anchors.answer_signature`) by anchor."""
        code = _code_version("anchors.py")
        keys = [hashlib.sha256(f"{code}\n{question.answer}".encode()).hexdigest() for question in questions]
        in_process = self._session.signatures.kept(self._store, keys)
        cached = self._store.lookup(caches.SIGNATURES, [key for key in keys if key not in in_process])
        new = {key: answer_signature(question.answer) for question, key in zip(questions, keys)
               if key not in cached and key not in in_process}
        self._store.store(caches.SIGNATURES, new)
        found = {key: in_process.get(key) or cached.get(key) or new[key] for key in keys}
        self._session.signatures.replace(self._store, found)
        return {question.anchor: found[key] for question, key in zip(questions, keys)}
