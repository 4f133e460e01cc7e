"""Export the deck as an Anki package (``.apkg``) with ``genanki``.

One note per card, bilingual: question, short answer, long answer, follow-ups with their answers,
common wrong answers with why, and for the seven questions and two exercises the 60-second answer
and its key points. Tags: the card's topic and source. Note ids (Anki's ``guid``) are derived from
the card id, and the model and deck ids are fixed numbers, so importing a newer export updates the
notes instead of duplicating them.
"""
from __future__ import annotations

import html
from pathlib import Path

import genanki

from .deck import load_deck
from .session import HEADINGS

#: fixed ids: never change them, or re-imports create a second note type / deck
MODEL_ID = 1734086120
DECK_ID = 1734086121
FIELDS = ("CardId", "Question", "ShortAnswer", "LongAnswer", "FollowUps", "WrongAnswers", "SpokenAnswer",
          "KeyPoints", "Source")

FRONT = "<div class='q'>{{Question}}</div><div class='src'>{{Source}}</div>"
BACK = ("{{FrontSide}}<hr id=answer><div>{{ShortAnswer}}</div>"
        "{{#SpokenAnswer}}<h4>60 秒 · 60 s</h4><div>{{SpokenAnswer}}</div><div>{{KeyPoints}}</div>{{/SpokenAnswer}}"
        "<details><summary>详解 · In depth</summary>{{LongAnswer}}</details>"
        "<details><summary>追问 · Follow-ups</summary>{{FollowUps}}</details>"
        "<details><summary>常见错误 · Wrong answers</summary>{{WrongAnswers}}</details>")
CSS = ".card { font-family: sans-serif; font-size: 18px; text-align: left; } .src { color: gray; font-size: 14px; }"


def note_guid(card_id: str) -> str:
    """The stable Anki note id of a card."""
    return genanki.guid_for("adaprune-edu", card_id)


def _pair(zh: str, en: str) -> str:
    return f"<p>{html.escape(zh)}</p><p><i>{html.escape(en)}</i></p>"


def _items(items) -> str:
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def note_fields(card) -> list:
    """The note's fields (HTML), in the order of :data:`FIELDS`."""
    follow_ups = _items(_pair(f"{f.question_zh} → {f.answer_zh}", f"{f.question_en} → {f.answer_en}")
                        for f in card.follow_ups)
    wrong = _items(_pair(f"{w.answer_zh} — {HEADINGS['zh']['why']}：{w.why_zh}",
                         f"{w.answer_en} — {HEADINGS['en']['why']}: {w.why_en}") for w in card.common_wrong_answers)
    spoken = points = ""
    if card.interview is not None:
        spoken = _pair(card.interview.spoken_zh, card.interview.spoken_en)
        points = _items(_pair(p.zh, p.en) for p in card.interview.key_points)
    return [card.id, _pair(card.question_zh, card.question_en), _pair(card.answer_short_zh, card.answer_short_en),
            _pair(card.answer_long_zh, card.answer_long_en), follow_ups, wrong, spoken, points,
            html.escape(card.source)]


def build_package(deck=None) -> genanki.Package:
    """The deck as a ``genanki.Package`` (not yet written)."""
    deck = load_deck() if deck is None else deck
    model = genanki.Model(MODEL_ID, "adaprune-edu interview card", fields=[{"name": name} for name in FIELDS],
                          templates=[{"name": "Card", "qfmt": FRONT, "afmt": BACK}], css=CSS)
    anki_deck = genanki.Deck(DECK_ID, "adaprune-edu::自适应剪枝面试 Adaptive pruning interview")
    for card in deck.cards:
        tags = [f"topic::{card.topic}", "source::" + card.source.split(";")[0].replace(" ", "_")]
        anki_deck.add_note(genanki.Note(model=model, fields=note_fields(card), guid=note_guid(card.id), tags=tags,
                                        sort_field=card.id))
    return genanki.Package(anki_deck)


def export_anki(path, deck=None):
    """Write the deck to ``path`` (must end in ``.apkg``); return ``(path, number of notes)``."""
    path = Path(path).expanduser()
    if path.suffix != ".apkg":
        raise ValueError(f"path={str(path)!r} must end in .apkg (Anki's package format)")
    package = build_package(deck)
    path.parent.mkdir(parents=True, exist_ok=True)
    package.write_to_file(str(path))
    return path, len(package.decks[0].notes)
