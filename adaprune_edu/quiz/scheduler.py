"""FSRS scheduling: each card is asked again when you are about to forget it.

FSRS (the Free Spaced Repetition Scheduler, Anki's default since 23.10) keeps a memory state
per card, its *stability* (days until recall probability falls to 90%) and *difficulty*, and
turns every review rating (again / hard / good / easy) into the next due date. The maths is the
``fsrs`` package's; this module keeps the state of the whole deck, picks the cards for a session
and converts the older Leitner-box progress files.

:func:`schedule` picks the cards for a session: cards that are due first (most overdue first),
then cards never reviewed (in a seeded shuffle, so the same seed gives the same order), then cards
not yet due (soonest first).

Time is always passed in (``now``), never read from a global clock inside the logic, so the tests
can move the calendar.
"""
from __future__ import annotations

import zlib
from datetime import datetime, timedelta, timezone

import numpy as np
from fsrs import Card as MemoryCard
from fsrs import Rating, Scheduler, State

from .._checks import check_choice, check_int

#: the progress-file version written by this module (version 1 was Leitner boxes)
PROGRESS_VERSION = 2
#: what the quiz's answers mean to FSRS
RATINGS = {"again": Rating.Again, "hard": Rating.Hard, "good": Rating.Good, "easy": Rating.Easy}
#: no random fuzz on intervals: the same reviews always give the same schedule
SCHEDULER = Scheduler(enable_fuzzing=False)


def utc_now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(timezone.utc)


def memory_id(card_id: str) -> int:
    """A stable positive integer for a card id (FSRS cards and Anki notes need one)."""
    return zlib.crc32(card_id.encode("utf-8")) + 1


def _check_time(name: str, value) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise TypeError(f"{name}={value!r} must be a timezone-aware datetime")
    return value


class ReviewState:
    """The FSRS memory state of every card reviewed so far, and the number of sessions.

    Parameters
    ----------
    cards : dict of {card_id: fsrs.Card}, optional
        Cards never reviewed are not listed.
    session : int
        Number of sessions completed.
    migrated_from : dict or None
        The Leitner progress this state was converted from, kept verbatim.
    """

    def __init__(self, cards=None, session: int = 0, migrated_from=None):
        self.session = check_int("session", session, minimum=0)
        self.cards = {}
        for card_id, card in dict(cards or {}).items():
            if not isinstance(card_id, str) or not isinstance(card, MemoryCard):
                raise TypeError(f"cards must map card ids (str) to fsrs.Card, got {card_id!r}: {type(card).__name__}")
            self.cards[card_id] = card
        self.migrated_from = migrated_from

    def seen(self, card_id: str) -> bool:
        return card_id in self.cards

    def due(self, card_id: str):
        """When ``card_id`` is due (``None`` for a card never reviewed)."""
        return self.cards[card_id].due if card_id in self.cards else None

    def is_due(self, card_id: str, now: datetime) -> bool:
        """Whether a reviewed card is due at ``now`` (a new card is not "due", it is new)."""
        _check_time("now", now)
        return card_id in self.cards and self.cards[card_id].due <= now

    def review(self, card_id: str, result: str, now: datetime) -> datetime:
        """Record a review (``"again"``, ``"hard"``, ``"good"`` or ``"easy"``) at ``now``; return the new due date."""
        check_choice("result", result, set(RATINGS))
        _check_time("now", now)
        card = self.cards.get(card_id) or MemoryCard(card_id=memory_id(card_id), due=now)
        self.cards[card_id], _ = SCHEDULER.review_card(card, RATINGS[result], review_datetime=now)
        return self.cards[card_id].due

    def counts(self, card_ids, now: datetime) -> dict:
        """``{"new": n, "due": n, "later": n}`` over ``card_ids``."""
        counts = {"new": 0, "due": 0, "later": 0}
        for card_id in card_ids:
            key = "new" if not self.seen(card_id) else "due" if self.is_due(card_id, now) else "later"
            counts[key] += 1
        return counts

    def to_dict(self) -> dict:
        """A JSON-ready dict (see :meth:`from_dict`)."""
        data = {"version": PROGRESS_VERSION, "scheduler": "fsrs", "session": self.session,
                "cards": {card_id: card.to_dict() for card_id, card in sorted(self.cards.items())}}
        if self.migrated_from is not None:
            data["migrated_from"] = self.migrated_from
        return data

    @classmethod
    def from_dict(cls, data) -> "ReviewState":
        """Rebuild a state from :meth:`to_dict`'s output; ``ValueError``/``TypeError`` if malformed."""
        if not isinstance(data, dict):
            raise TypeError(f"progress must be a JSON object, got {type(data).__name__}")
        if data.get("version") != PROGRESS_VERSION or data.get("scheduler") != "fsrs":
            raise ValueError(f"progress has version {data.get('version')!r} and scheduler {data.get('scheduler')!r}; "
                             f"this program reads version {PROGRESS_VERSION} with scheduler 'fsrs' (or version 1)")
        if not isinstance(data.get("cards"), dict):
            raise TypeError(f"progress 'cards' must be an object, got {data.get('cards')!r:.60}")
        cards = {}
        for card_id, raw in data["cards"].items():
            try:
                cards[card_id] = MemoryCard.from_dict(raw)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise ValueError(f"progress card {card_id!r} is not an FSRS card: {exc!r}") from None
        return cls(cards=cards, session=data.get("session"), migrated_from=data.get("migrated_from"))


def from_leitner(data: dict, now: datetime) -> ReviewState:
    """Convert a version-1 (Leitner boxes) progress dict into FSRS state, losing nothing.

    A card in box 1 was last answered "again" (or never known): it becomes a relearning card due
    now. A card in box k >= 2 had been known k - 1 times in a row and was asked every 2**(k-1)
    sessions: it becomes a review card with stability 2**(k-1) days, last reviewed now and due after
    half that interval, so the first FSRS review comes a little early rather than late. The original
    dict is kept in ``migrated_from``.
    """
    from .leitner import LeitnerState

    _check_time("now", now)
    leitner = LeitnerState.from_dict(data)  # raises for a malformed version-1 file
    cards = {}
    for card_id, box in leitner.boxes.items():
        if box == 1:
            cards[card_id] = MemoryCard(card_id=memory_id(card_id), state=State.Relearning, step=0, stability=1.0,
                                        difficulty=7.0, due=now, last_review=now)
        else:
            interval = 2.0 ** (box - 1)
            cards[card_id] = MemoryCard(card_id=memory_id(card_id), state=State.Review, stability=interval,
                                        difficulty=5.0, due=now + timedelta(days=interval / 2), last_review=now)
    return ReviewState(cards=cards, session=leitner.session, migrated_from=leitner.to_dict())


def schedule(card_ids, state: ReviewState, n: int, now: datetime, seed: int = 0) -> list:
    """Up to ``n`` card ids for a session at ``now``, in the order to ask them.

    Due cards first (most overdue first), then new cards (seeded shuffle), then the rest (soonest
    due first); ties are broken by the same seeded shuffle.

    Returns
    -------
    list of str, length min(n, len(card_ids))
    """
    n = check_int("n", n, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    _check_time("now", now)
    card_ids = list(card_ids)
    rank = np.random.default_rng(seed).permutation(len(card_ids))
    far = datetime.max.replace(tzinfo=timezone.utc)

    def key(i):
        cid = card_ids[i]
        group = 1 if not state.seen(cid) else 0 if state.is_due(cid, now) else 2
        return (group, far if group == 1 else state.due(cid), int(rank[i]))

    return [card_ids[i] for i in sorted(range(len(card_ids)), key=key)[:n]]
