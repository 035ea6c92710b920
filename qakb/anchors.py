"""The anchor record: which anchors each question has had, so old links keep landing on it.

A question's anchor is a slug of its text (`qakb.parse`), so rewording a question
changes its anchor. `qakb build` keeps ``anchors.json`` beside the bank files
(``content/anchors.json``); the bank's editor commits it with the bank, so the
record survives clean clones. One line per question, in bank order::

    {"format": "qakb-anchors", "version": 1, "namespace": "9c1e...", "about": "...", "items": [
    {"anchor": "what-is-dropout", "answer": "5f0c...", "former": ["what-is-drop-out"], "id": "what-is-drop-out"},
    ...
    ]}

- ``anchor``: the question's anchor in the last build; ``former``: anchors it had
  before, which the site still resolves (`links_map`).
- ``id``: the item's identity, its first anchor (made unique), which never changes:
  the Anki export's note ids come from it and from ``namespace``.
- ``answer``: a 256-bit SimHash of the answer's words and word pairs: similar answers
  have signatures that differ in few bits, and it is small enough to commit.
- ``namespace``: made once, from the first build's anchors: it keeps one site's Anki
  notes apart from another's.

Which item a question of a new build is (`update_record`):

1. a question whose anchor is in the record is that item, whatever its answer;
2. otherwise it may be an item whose anchor vanished in this build: the item that
   had this anchor before (a wording put back), else the one whose answer signature
   is closest, within `MAX_SIGNATURE_BITS` bits. Measured on both test banks: an
   unchanged answer differs in 0 bits, one changed word in at most 31, 5% of the
   words changed in at most 33 (10%: 90% of answers within 40), while any two
   different answers of a bank differ in 50 or more;
3. otherwise it is a new item. Items whose questions are gone leave the record.

Standard library only, but for numpy when a build has renamed questions to match.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from qakb.parse import ParseError, Question, shown_path

RECORD_FILE = "anchors.json"
FORMAT = "qakb-anchors"
VERSION = 1
ABOUT = ("Written by `qakb build`: the anchors each question has had, so links to reworded questions "
         "keep working. Commit it with the bank; do not edit it by hand.")
SIGNATURE_BITS = 256
MAX_SIGNATURE_BITS = 40
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class AnchorEntry:
    anchor: str
    id: str
    answer: str
    former: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnchorRecord:
    namespace: str
    entries: tuple[AnchorEntry, ...]

    def id_of(self) -> dict[str, str]:
        """Each current anchor's stable item id."""
        return {entry.anchor: entry.id for entry in self.entries}


@dataclass(frozen=True)
class Rename:
    """A reworded question matched to its item: its old anchor now leads to the new one."""
    old: str
    new: str
    signature_bits: int | None  # None: matched because the question had the new anchor once before

    @property
    def reason(self) -> str:
        if self.signature_bits is None:
            return "it had that anchor before"
        if self.signature_bits == 0:
            return "the same answer"
        return f"a similar answer: {self.signature_bits} of {SIGNATURE_BITS} signature bits differ"


@dataclass(frozen=True)
class RecordUpdate:
    record: AnchorRecord
    renames: tuple[Rename, ...] = field(default=())


def answer_signature(answer: str) -> str:
    """SimHash of the answer's lowercase words and word pairs, as hex."""
    words = _WORD.findall(answer.lower())
    features = words + [f"{first} {second}" for first, second in zip(words, words[1:])]
    # Bit i of the signature is set when most features' hashes have bit i set; counting
    # each bit column of the hashes' binary strings keeps the loop in C.
    hashes = "".join(
        format(int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=SIGNATURE_BITS // 8).digest(), "big"),
               f"0{SIGNATURE_BITS}b")
        for feature in features)
    bits = "".join("1" if 2 * hashes[position::SIGNATURE_BITS].count("1") > len(features) else "0"
                   for position in range(SIGNATURE_BITS))
    value = int(bits, 2)
    return f"{value:0{SIGNATURE_BITS // 4}x}"


def signature_distance(first: str, second: str) -> int:
    return (int(first, 16) ^ int(second, 16)).bit_count()


def close_pairs(newcomers: list[tuple[int, str]], signatures: dict[str, str], vanished: list[AnchorEntry]):
    """(order, anchor, position in `vanished`, distance) for every newcomer and vanished entry whose
    signatures differ in at most MAX_SIGNATURE_BITS bits. Every pair is compared (a bank-wide
    rewording makes n x n of them), so the comparison runs in numpy, a block of newcomers at a time."""
    if not newcomers or not vanished:
        return
    import numpy as np

    def words(hexes: list[str]) -> np.ndarray:
        return np.frombuffer(b"".join(bytes.fromhex(text) for text in hexes), dtype=">u8").reshape(len(hexes), -1)

    old = words([entry.answer for entry in vanished])
    for first in range(0, len(newcomers), 256):
        block = newcomers[first:first + 256]
        new = words([signatures[anchor] for _, anchor in block])
        distances = np.bitwise_count(new[:, None, :] ^ old[None, :, :]).sum(axis=2, dtype=np.int64)
        for row, column in zip(*np.nonzero(distances <= MAX_SIGNATURE_BITS)):
            order, anchor = block[row]
            yield order, anchor, int(column), int(distances[row, column])


def _unique(wanted: str, taken: set[str]) -> str:
    candidate, suffix = wanted, 1
    while candidate in taken:
        suffix += 1
        candidate = f"{wanted}-{suffix}"
    return candidate


def update_record(previous: AnchorRecord | None, questions: list[Question],
                  signatures: dict[str, str] | None = None) -> RecordUpdate:
    """The record after a build of `questions` (anchors assigned), and the renames it found.

    `signatures`: each question's `answer_signature` by anchor, when the caller has them already.
    """
    if signatures is None:
        signatures = {question.anchor: answer_signature(question.answer) for question in questions}
    old_entries = previous.entries if previous else ()
    current = set(signatures)
    by_anchor = {entry.anchor: entry for entry in old_entries}
    matched = {anchor: by_anchor[anchor] for anchor in signatures if anchor in by_anchor}
    vanished = [entry for entry in old_entries if entry.anchor not in current]
    newcomers = [question.anchor for question in questions if question.anchor not in matched]
    renames: list[Rename] = []
    for anchor in newcomers:
        back = next((entry for entry in vanished if anchor in entry.former), None)
        if back is not None:
            matched[anchor] = back
            vanished.remove(back)
            renames.append(Rename(back.anchor, anchor, None))
    unmatched = [(order, anchor) for order, anchor in enumerate(newcomers) if anchor not in matched]
    pairs = sorted(
        (distance, order, position, anchor, vanished[position])
        for order, anchor, position, distance in close_pairs(unmatched, signatures, vanished)
    )
    used: set[int] = set()
    for distance, _, position, anchor, entry in pairs:
        if anchor in matched or position in used:
            continue
        matched[anchor] = entry
        used.add(position)
        renames.append(Rename(entry.anchor, anchor, distance))

    taken_ids = {entry.id for entry in matched.values()}
    entries = []
    for question in questions:
        anchor = question.anchor
        entry = matched.get(anchor)
        if entry is None:
            item_id = _unique(anchor, taken_ids)
            taken_ids.add(item_id)
            former: tuple[str, ...] = ()
        else:
            item_id = entry.id
            # A former anchor that a question holds now belongs to that question.
            former = tuple(name for name in dict.fromkeys((*entry.former, entry.anchor))
                           if name not in current)
        entries.append(AnchorEntry(anchor=anchor, id=item_id, answer=signatures[anchor], former=former))
    namespace = previous.namespace if previous else hashlib.sha256(
        "\n".join(sorted(current)).encode()).hexdigest()[:16]
    renames.sort(key=lambda rename: rename.new)
    return RecordUpdate(AnchorRecord(namespace=namespace, entries=tuple(entries)), tuple(renames))


def record_text(record: AnchorRecord) -> str:
    """The record as JSON, one item per line, so a bank edit shows as a small diff."""
    head = json.dumps({"format": FORMAT, "version": VERSION, "namespace": record.namespace, "about": ABOUT},
                      ensure_ascii=False)
    items = ",\n".join(
        json.dumps({"anchor": entry.anchor, "answer": entry.answer, "former": list(entry.former), "id": entry.id},
                   ensure_ascii=False)
        for entry in record.entries)
    return f'{head[:-1]}, "items": [\n{items}\n]}}\n'


def read_record(path: Path) -> AnchorRecord | None:
    """The record in `path`, None if there is none yet."""
    if not path.is_file():
        return None
    problem = ("not a valid qakb anchor record; restore it from version control, or delete it to start a new "
               "record (links to questions reworded before then stop resolving)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT or data.get("version") != VERSION:
            raise ValueError
        entries = tuple(
            AnchorEntry(anchor=_text(item["anchor"]), id=_text(item["id"]), answer=_signature(item["answer"]),
                        former=tuple(_text(name) for name in item["former"]))
            for item in data["items"])
        namespace = _text(data["namespace"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ParseError(shown_path(path), 0, problem) from None
    return AnchorRecord(namespace=namespace, entries=entries)


def _text(value) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError
    return value


def _signature(value) -> str:
    if not isinstance(value, str) or not re.fullmatch(rf"[0-9a-f]{{{SIGNATURE_BITS // 4}}}", value):
        raise ValueError
    return value


def write_record(path: Path, record: AnchorRecord) -> bool:
    """Write the record if it changed (atomically); True if it did."""
    text = record_text(record)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return True


def links_map(record: AnchorRecord, url_of: dict[str, str]) -> dict[str, str]:
    """Every current and former anchor → the site-relative URL of its question now (`url_of`: by current anchor)."""
    links = {}
    for entry in record.entries:
        for former in entry.former:
            links[former] = url_of[entry.anchor]
    for entry in record.entries:
        links[entry.anchor] = url_of[entry.anchor]
    return dict(sorted(links.items()))
