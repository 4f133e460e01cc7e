"""The notebooks' interview answers come from the deck, in one place (issue 12, section 2).

A hand-written box (markdown with "**In 60 seconds.**") can drift from the cards; a cell that renders
``interview_markdown(card, lang)`` cannot, as long as its stored output is the current deck's text.
Checked on the .ipynb files, no execution.
"""
from pathlib import Path

import nbformat
import pytest

from adaprune_edu.quiz import load_deck
from adaprune_edu.quiz.render import interview_markdown

ROOT = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(p for p in ROOT.glob("[0-9][0-9]_*.ipynb") if p.name[:2] != "00")
HAND_WRITTEN_MARK = "**In 60 seconds.**"


def render_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and "interview_markdown(" in c.source]


def hand_written_boxes(nb) -> list:
    return [c.id for c in nb.cells if c.cell_type == "markdown" and HAND_WRITTEN_MARK in c.source]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_hand_written_interview_box(path):
    nb = nbformat.read(path, as_version=4)
    boxes = hand_written_boxes(nb)
    assert not boxes, f"{path.name}: cells {boxes} hold a hand-written interview box; render the deck's card instead"
    if any(c.cell_type == "markdown" and "Interview answer" in c.source for c in nb.cells):
        assert render_cells(nb), f"{path.name} has an 'Interview answer' heading but no cell rendering the deck"


def test_stored_boxes_show_the_current_deck():
    """Every rendered box stored in a notebook is the current deck's text (re-execute the notebook after editing
    a card)."""
    deck = load_deck()
    current = {interview_markdown(card, lang) for card in deck.interview_cards() for lang in ("zh", "en", "both")}
    checked = 0
    for path in sorted(ROOT.glob("[0-9][0-9]_*.ipynb")):
        for cell in render_cells(nbformat.read(path, as_version=4)):
            shown = [out["data"]["text/markdown"] for out in cell.outputs if "text/markdown" in out.get("data", {})]
            assert shown, f"{path.name}, cell {cell.id}: no stored output; execute the notebook"
            for text in shown:
                assert text in current, f"{path.name}, cell {cell.id}: stored box differs from the deck; re-execute"
                checked += 1
    assert checked >= 6  # notebooks 01, 02, 03, 05 (six cards) at least


def test_the_checks_can_fail():
    box = nbformat.v4.new_markdown_cell("## Interview answer\n\n**In 60 seconds.** Pruning removes ...")
    rendered = nbformat.v4.new_code_cell('display(Markdown(interview_markdown(deck.card("q1-purpose"), "zh")))')
    nb = nbformat.v4.new_notebook(cells=[box, rendered])
    assert hand_written_boxes(nb) == [box.id] and render_cells(nb) == [rendered]
    card = load_deck().card("q1-purpose")
    stale = interview_markdown(card, "zh").replace(card.question_zh, "旧的问题")
    assert stale not in {interview_markdown(c, "zh") for c in load_deck().interview_cards()}
