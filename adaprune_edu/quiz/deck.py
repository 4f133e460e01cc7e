"""The interview deck: cards kept as data in ``deck.json``, loaded and checked here.

Each card answers one question from the interview bank (``source`` says which: "Q1" ..
"Q7", "exercise 8", "exercise 9", or "follow-up to Q3"), in Chinese and English:

>>> deck = load_deck()
>>> card = deck.card("q7-applications")
>>> card.question_en
'Briefly describe the applications of adaptive pruning in deep-learning model compression.'

A deck that breaks the schema is refused with a ``ValueError`` naming the card and the field,
so a typo in the data file is caught by the tests rather than in front of a learner.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

#: the deck shipped with the package
DECK_PATH = Path(__file__).with_name("deck.json")

#: card fields that must be non-empty strings
TEXT_FIELDS = ("id", "topic", "source", "question_zh", "question_en", "answer_short_zh",
               "answer_short_en", "answer_long_en")
#: card fields that are lists of strings (possibly empty)
LIST_FIELDS = ("follow_ups", "common_wrong_answers")


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
    answer_long_en: str
    follow_ups: tuple = ()
    common_wrong_answers: tuple = ()


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


def _check_card(index: int, raw, topics) -> Card:
    """Validate one raw card dict and return it as a :class:`Card`."""
    where = f"card #{index}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be an object, got {type(raw).__name__}")
    if isinstance(raw.get("id"), str) and raw["id"]:
        where = f"card #{index} ({raw['id']!r})"
    missing = [name for name in TEXT_FIELDS + LIST_FIELDS if name not in raw]
    if missing:
        raise ValueError(f"{where} is missing the field(s) {missing}")
    unknown = sorted(set(raw) - set(TEXT_FIELDS + LIST_FIELDS))
    if unknown:
        raise ValueError(f"{where} has unknown field(s) {unknown}; allowed: {list(TEXT_FIELDS + LIST_FIELDS)}")
    for name in TEXT_FIELDS:
        if not isinstance(raw[name], str) or not raw[name].strip():
            raise ValueError(f"{where}: {name} must be a non-empty string, got {raw[name]!r}")
    for name in LIST_FIELDS:
        value = raw[name]
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            raise ValueError(f"{where}: {name} must be a list of non-empty strings, got {value!r}")
    if raw["topic"] not in topics:
        raise ValueError(f"{where}: topic {raw['topic']!r} is not declared; declared topics: {sorted(topics)}")
    fields = {name: raw[name] for name in TEXT_FIELDS}
    return Card(**fields, follow_ups=tuple(raw["follow_ups"]),
                common_wrong_answers=tuple(raw["common_wrong_answers"]))


def parse_deck(data) -> Deck:
    """Check a deck already read from JSON (a dict with ``title``, ``topics``, ``cards``)."""
    if not isinstance(data, dict):
        raise ValueError(f"a deck must be a JSON object, got {type(data).__name__}")
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
