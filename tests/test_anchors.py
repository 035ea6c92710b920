"""The anchor record (content/anchors.json): which item a reworded question is, and where old links go."""

from __future__ import annotations

import json

import pytest

from qakb.anchors import (MAX_SIGNATURE_BITS, RECORD_FILE, answer_signature, links_map, read_record, record_text,
                          signature_distance, update_record, write_record)
from qakb.parse import ParseError, parse_content

BANK = """# A bank
> https://example.org/

1. `What is dropout?`
Dropout switches off a random share of the units at every training step, so that the network cannot rely on
any single unit and learns redundant features; at test time every unit is on and the weights are scaled.

2. `What is batch normalisation?`
Batch normalisation rescales each layer's inputs to zero mean and unit variance over the mini-batch, then
applies a learned scale and shift, which steadies and speeds up training of deep networks.

3. `What is early stopping?`
Early stopping ends training when the loss on a validation set has not improved for a number of epochs,
and keeps the weights of the best epoch, a cheap guard against overfitting.
"""


def questions_of(tmp_path, text: str):
    folder = tmp_path / "content"
    folder.mkdir(exist_ok=True)
    (folder / "bank.md").write_text(text, encoding="utf-8")
    return list(parse_content(folder).questions)


def build(tmp_path, text: str, previous=None):
    return update_record(previous, questions_of(tmp_path, text))


def test_a_first_build_records_every_anchor_as_its_own_id(tmp_path):
    update = build(tmp_path, BANK)
    assert [(entry.anchor, entry.id, entry.former) for entry in update.record.entries] == [
        ("what-is-dropout", "what-is-dropout", ()),
        ("what-is-batch-normalisation", "what-is-batch-normalisation", ()),
        ("what-is-early-stopping", "what-is-early-stopping", ())]
    assert update.renames == () and len(update.record.namespace) == 16


def test_a_reworded_question_with_the_same_answer_keeps_its_id_and_old_anchor(tmp_path):
    first = build(tmp_path, BANK).record
    update = build(tmp_path, BANK.replace("`What is dropout?`", "`How does dropout regularise a network?`"), first)
    entry = update.record.entries[0]
    assert (entry.anchor, entry.id, entry.former) == (
        "how-does-dropout-regularise-a-network", "what-is-dropout", ("what-is-dropout",))
    assert [(rename.old, rename.new, rename.signature_bits) for rename in update.renames] == [
        ("what-is-dropout", "how-does-dropout-regularise-a-network", 0)]
    assert update.record.namespace == first.namespace
    assert update.record.entries[1:] == first.entries[1:]


def test_a_reworded_question_whose_answer_changed_a_little_is_still_the_same_item(tmp_path):
    first = build(tmp_path, BANK).record
    edited = BANK.replace("`What is early stopping?`", "`When should training stop?`").replace(
        "a cheap guard against overfitting", "a cheap guard against over-fitting the data")
    update = build(tmp_path, edited, first)
    assert update.record.entries[2].former == ("what-is-early-stopping",)
    assert 0 < update.renames[0].signature_bits <= MAX_SIGNATURE_BITS


def test_a_replaced_question_with_another_answer_is_a_new_item(tmp_path):
    first = build(tmp_path, BANK).record
    replaced = BANK.replace(
        "3. `What is early stopping?`\nEarly stopping ends training when the loss on a validation set has not improved "
        "for a number of epochs,\nand keeps the weights of the best epoch, a cheap guard against overfitting.",
        "3. `What is a learning-rate schedule?`\nA rule that changes the step size during training: warm-up, step "
        "decay, cosine annealing and one-cycle are common ones.")
    update = build(tmp_path, replaced, first)
    entry = update.record.entries[2]
    assert (entry.anchor, entry.id, entry.former) == ("what-is-a-learning-rate-schedule",
                                                      "what-is-a-learning-rate-schedule", ())
    assert update.renames == ()
    urls = {other.anchor: other.anchor for other in update.record.entries}
    assert "what-is-early-stopping" not in links_map(update.record, urls)


def test_reordering_changes_nothing_but_the_order(tmp_path):
    first = build(tmp_path, BANK).record
    items = BANK.split("\n\n")
    reordered = "\n\n".join([items[0], items[3].replace("3.", "1.", 1), items[1].replace("1.", "2.", 1),
                             items[2].replace("2.", "3.", 1)])
    update = build(tmp_path, reordered, first)
    assert sorted(update.record.entries, key=lambda e: e.id) == sorted(first.entries, key=lambda e: e.id)
    assert update.renames == ()


def test_rewording_back_and_forth_keeps_every_old_anchor_and_never_shadows_a_current_one(tmp_path):
    first = build(tmp_path, BANK).record
    second = build(tmp_path, BANK.replace("`What is dropout?`", "`Why use dropout?`"), first).record
    third = build(tmp_path, BANK, second)
    entry = third.record.entries[0]
    assert (entry.anchor, entry.id, entry.former) == ("what-is-dropout", "what-is-dropout", ("why-use-dropout",))
    assert third.renames[0].signature_bits is None, "matched because it had this anchor before"
    # A new question that takes a former anchor owns it from then on.
    taken = BANK + "\n4. `Why use dropout?`\nA different question with a different answer about ensembles.\n"
    fourth = build(tmp_path, taken, third.record).record
    assert fourth.entries[0].former == () and fourth.entries[3].anchor == "why-use-dropout"


def test_the_site_map_sends_former_and_current_anchors_to_the_current_page():
    from qakb.anchors import AnchorEntry, AnchorRecord

    record = AnchorRecord("ns", (AnchorEntry("new-a", "old-a", "0" * 32, ("old-a", "older-a")),
                                 AnchorEntry("b", "b", "0" * 32)))
    urls = {"new-a": "topics/one/#new-a", "b": "topics/two/#b"}
    assert links_map(record, urls) == {"b": "topics/two/#b", "new-a": "topics/one/#new-a",
                                       "old-a": "topics/one/#new-a", "older-a": "topics/one/#new-a"}


def test_the_record_file_round_trips_one_item_per_line_and_is_rewritten_only_when_it_changes(tmp_path):
    record = build(tmp_path, BANK).record
    path = tmp_path / RECORD_FILE
    assert write_record(path, record) is True
    assert write_record(path, record) is False
    text = path.read_text(encoding="utf-8")
    assert text == record_text(record) and len(text.splitlines()) == 2 + len(record.entries)
    assert json.loads(text)["format"] == "qakb-anchors"
    assert read_record(path) == record
    assert read_record(tmp_path / "missing.json") is None


@pytest.mark.parametrize("text", ["not json", "[]", '{"format": "qakb-anchors", "version": 1}',
                                  '{"format": "qakb-anchors", "version": 1, "namespace": "n", '
                                  '"items": [{"anchor": "a", "id": "a", "answer": "xyz", "former": []}]}'])
def test_a_broken_record_stops_the_build_with_what_to_do(tmp_path, text):
    path = tmp_path / RECORD_FILE
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParseError, match="anchors.json: not a valid qakb anchor record; restore it from version"):
        read_record(path)


def test_signatures_tell_an_edited_answer_from_another_answer():
    answer = BANK.split("\n\n")[1]
    other = BANK.split("\n\n")[2]
    assert signature_distance(answer_signature(answer), answer_signature(answer)) == 0
    assert signature_distance(answer_signature(answer), answer_signature(answer.replace("random", "chosen"))) \
        <= MAX_SIGNATURE_BITS
    assert signature_distance(answer_signature(answer), answer_signature(other)) > MAX_SIGNATURE_BITS


def test_rewording_every_question_of_a_large_bank_matches_each_to_its_item(tmp_path):
    # 1,000 items, every question reworded at once: each answer finds its own item among 1,000
    # vanished ones (a million pairs, compared in numpy blocks rather than one sorted list).
    words = ["loss", "layer", "tensor", "kernel", "stride", "epoch", "batch", "token", "logit", "norm"]
    items = [(f"Item {i}: which {words[i % 10]} comes {i}th?",
              " ".join(f"{words[(i * 7 + j * (i % 13 + 1)) % 10]}{(i * 31 + j) % 997}" for j in range(25)))
             for i in range(1000)]
    bank = "".join(f"{number}. `{question}`\n{answer}\n\n" for number, (question, answer) in enumerate(items, 1))
    first = build(tmp_path, bank).record
    update = build(tmp_path, bank.replace("`Item ", "`Reworded item "), first)
    assert len(update.renames) == 1000
    assert [entry.id for entry in update.record.entries] == [entry.id for entry in first.entries]
    assert all(entry.former == (old.anchor,) for entry, old in zip(update.record.entries, first.entries))
