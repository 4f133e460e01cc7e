"""The interview deck: cards kept as data in ``deck.json``, loaded and checked here.

Each card answers one question from the interview bank (``source`` says which: "Q1" ..
"Q7", "exercise 8", "exercise 9", or "follow-up to Q3"). Everything on a card is in Chinese
and English: the question, a short and a long answer, follow-up questions *with their
answers*, and common wrong answers with why they are wrong. The cards of the seven questions
and of the two exercises also carry an ``interview`` block: a 60-second spoken answer and the
key points an interviewer listens for. These are the one source that the notebooks, the flash
cards, the terminal quiz and the Anki export render.

>>> deck = load_deck()
>>> card = deck.card("q7-applications")
>>> card.question_en
'Briefly describe the applications of adaptive pruning in deep-learning model compression.'
>>> card.text("question", "zh")
'请简述自适应剪枝在深度学习模型压缩中的应用。'

A deck that breaks the schema is refused with a ``ValueError`` naming the card and the field,
so a typo in the data file is caught by the tests rather than in front of a learner.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

#: the deck shipped with the package
DECK_PATH = Path(__file__).with_name("deck.json")
#: the schema version this module reads
DECK_VERSION = 2
#: the languages every text exists in
LANGS = ("zh", "en")

#: card fields that must be non-empty strings
TEXT_FIELDS = ("id", "topic", "source", "question_zh", "question_en", "answer_short_zh", "answer_short_en",
               "answer_long_zh", "answer_long_en")
#: list fields: the keys of each entry (all non-empty strings); each list needs at least one entry
LIST_FIELDS = {"follow_ups": ("question_zh", "question_en", "answer_zh", "answer_en"),
               "common_wrong_answers": ("answer_zh", "answer_en", "why_zh", "why_en")}
#: the sources that must each have exactly one card with an ``interview`` block
INTERVIEW_SOURCES = tuple(f"Q{q}" for q in range(1, 8)) + ("exercise 8", "exercise 9")
#: how many key points an interview answer lists
KEY_POINTS_RANGE = (3, 6)


def _pick(obj, stem: str, lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang={lang!r} must be one of {list(LANGS)}")
    return getattr(obj, f"{stem}_{lang}" if stem else lang)


@dataclass(frozen=True)
class FollowUp:
    """A follow-up question an interviewer is likely to ask next, with its answer."""

    question_zh: str
    question_en: str
    answer_zh: str
    answer_en: str

    def text(self, stem: str, lang: str) -> str:
        """``stem`` is "question" or "answer"; ``lang`` "zh" or "en"."""
        return _pick(self, stem, lang)


@dataclass(frozen=True)
class WrongAnswer:
    """An answer candidates often give, and why it is wrong."""

    answer_zh: str
    answer_en: str
    why_zh: str
    why_en: str

    def text(self, stem: str, lang: str) -> str:
        """``stem`` is "answer" or "why"; ``lang`` "zh" or "en"."""
        return _pick(self, stem, lang)


@dataclass(frozen=True)
class KeyPoint:
    """One item of the checklist an interviewer listens for."""

    zh: str
    en: str

    def text(self, lang: str) -> str:
        return _pick(self, "", lang)


@dataclass(frozen=True)
class Interview:
    """A 60-second spoken answer and its key points, in both languages."""

    spoken_zh: str
    spoken_en: str
    key_points: tuple

    def text(self, lang: str) -> str:
        return _pick(self, "spoken", lang)


@dataclass(frozen=True)
class Card:
    """One interview question with its answers."""

    id: str
    topic: str
    source: str
    question_zh: str
    question_en: str
    answer_short_zh: str
    answer_short_en: str
    answer_long_zh: str
    answer_long_en: str
    follow_ups: tuple = ()
    common_wrong_answers: tuple = ()
    interview: Interview | None = None

    def text(self, stem: str, lang: str) -> str:
        """A text field in one language: ``card.text("answer_long", "zh") == card.answer_long_zh``."""
        return _pick(self, stem, lang)


@dataclass(frozen=True)
class Deck:
    """The cards in file order and the topics they are filed under (``{name: description}``)."""

    title: str
    topics: dict
    cards: tuple

    def __len__(self) -> int:
        return len(self.cards)

    def card(self, card_id: str) -> Card:
        """The card whose ``id`` is ``card_id`` (``KeyError`` if there is none)."""
        for card in self.cards:
            if card.id == card_id:
                return card
        raise KeyError(f"no card with id {card_id!r} in the deck")

    def select(self, topic: str | None = None) -> list:
        """Cards of one topic (all cards for ``topic=None``), in file order."""
        if topic is None:
            return list(self.cards)
        if topic not in self.topics:
            raise ValueError(f"topic={topic!r} is not in the deck; choose one of {sorted(self.topics)}")
        return [card for card in self.cards if card.topic == topic]

    def interview_cards(self) -> list:
        """The cards with a spoken answer: the seven questions and the two exercises, in file order."""
        return [card for card in self.cards if card.interview is not None]


def _check_text(where: str, name: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {name} must be a non-empty string, got {value!r:.80}")
    return value


def _check_entries(where: str, name: str, value, keys) -> list:
    """A non-empty list of objects with exactly ``keys``, each a non-empty string."""
    if not isinstance(value, list) or not value:
        raise ValueError(f"{where}: {name} must be a non-empty list of objects with keys {list(keys)}, "
                         f"got {value!r:.80}")
    for i, entry in enumerate(value):
        if not isinstance(entry, dict) or set(entry) != set(keys):
            got = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
            raise ValueError(f"{where}: {name}[{i}] must have exactly the keys {list(keys)}, got {got}")
        for key in keys:
            _check_text(where, f"{name}[{i}].{key}", entry[key])
    return value


def _check_interview(where: str, raw) -> Interview:
    keys = ("spoken_zh", "spoken_en", "key_points")
    if not isinstance(raw, dict) or set(raw) != set(keys):
        raise ValueError(f"{where}: interview must be an object with exactly the keys {list(keys)}")
    points = _check_entries(where, "interview.key_points", raw["key_points"], LANGS)
    low, high = KEY_POINTS_RANGE
    if not low <= len(points) <= high:
        raise ValueError(f"{where}: interview.key_points has {len(points)} items; it must have {low} to {high}")
    return Interview(spoken_zh=_check_text(where, "interview.spoken_zh", raw["spoken_zh"]),
                     spoken_en=_check_text(where, "interview.spoken_en", raw["spoken_en"]),
                     key_points=tuple(KeyPoint(**point) for point in points))


def _check_card(index: int, raw, topics) -> Card:
    """Validate one raw card dict and return it as a :class:`Card`."""
    where = f"card #{index}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be an object, got {type(raw).__name__}")
    if isinstance(raw.get("id"), str) and raw["id"]:
        where = f"card #{index} ({raw['id']!r})"
    required = TEXT_FIELDS + tuple(LIST_FIELDS)
    missing = [name for name in required if name not in raw]
    if missing:
        raise ValueError(f"{where} is missing the field(s) {missing}")
    unknown = sorted(set(raw) - set(required) - {"interview"})
    if unknown:
        raise ValueError(f"{where} has unknown field(s) {unknown}; allowed: {list(required) + ['interview']}")
    fields = {name: _check_text(where, name, raw[name]) for name in TEXT_FIELDS}
    if raw["topic"] not in topics:
        raise ValueError(f"{where}: topic {raw['topic']!r} is not declared; declared topics: {sorted(topics)}")
    follow_ups = _check_entries(where, "follow_ups", raw["follow_ups"], LIST_FIELDS["follow_ups"])
    wrong = _check_entries(where, "common_wrong_answers", raw["common_wrong_answers"],
                           LIST_FIELDS["common_wrong_answers"])
    interview = _check_interview(where, raw["interview"]) if "interview" in raw else None
    return Card(**fields, follow_ups=tuple(FollowUp(**entry) for entry in follow_ups),
                common_wrong_answers=tuple(WrongAnswer(**entry) for entry in wrong), interview=interview)


def parse_deck(data) -> Deck:
    """Check a deck already read from JSON (a dict with ``version``, ``title``, ``topics``, ``cards``)."""
    if not isinstance(data, dict):
        raise ValueError(f"a deck must be a JSON object, got {type(data).__name__}")
    if data.get("version") != DECK_VERSION:
        raise ValueError(f"the deck has version {data.get('version')!r}; this program reads version {DECK_VERSION}")
    for key, kind in (("title", str), ("topics", dict), ("cards", list)):
        if not isinstance(data.get(key), kind):
            raise ValueError(f"the deck's {key!r} must be a {kind.__name__}, got {data.get(key)!r:.60}")
    topics = data["topics"]
    if not topics or not all(isinstance(k, str) and isinstance(v, str) for k, v in topics.items()):
        raise ValueError("the deck's 'topics' must map topic names to descriptions (strings)")
    if not data["cards"]:
        raise ValueError("the deck has no cards")
    cards = tuple(_check_card(i, raw, topics) for i, raw in enumerate(data["cards"]))
    seen = set()
    for card in cards:
        if card.id in seen:
            raise ValueError(f"card id {card.id!r} appears more than once; ids must be unique")
        seen.add(card.id)
    return Deck(title=data["title"], topics=dict(topics), cards=cards)


def check_interview_coverage(deck: Deck) -> None:
    """``ValueError`` unless each of :data:`INTERVIEW_SOURCES` has exactly one card with an interview block."""
    for source in INTERVIEW_SOURCES:
        found = [card.id for card in deck.interview_cards() if card.source == source]
        if len(found) != 1:
            raise ValueError(f"source {source!r} needs exactly one card with an interview answer, found {found}")


def load_deck(path=None) -> Deck:
    """Read and validate a deck file (default: the deck shipped with the package).

    Raises ``ValueError`` for a file that is not valid JSON or breaks the schema.
    """
    path = DECK_PATH if path is None else Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"deck file {str(path)!r} is not valid JSON: {exc}") from None
    return parse_deck(data)
