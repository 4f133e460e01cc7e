"""Leitner boxes: cards you know are asked less and less often.

Every card starts in box 1. "Known" moves a card up one box (at most ``n_boxes``),
"again" sends it back to box 1. Sessions are numbered 0, 1, 2, ...; a card in box ``k`` is
*due* in the sessions that are a multiple of ``2 ** (k - 1)``: box 1 every session, box 2
every other session, box 3 every fourth, and so on.

:func:`schedule` picks the cards for a session: due cards first, lowest box first (the
ones you know least), ties broken by a seeded shuffle, so the same seed always gives the
same order.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_int

N_BOXES = 5


class LeitnerState:
    """Which box each card is in, and how many sessions have been completed.

    Parameters
    ----------
    boxes : dict of {card_id: int}, optional
        Box of each card seen so far (cards not listed are in box 1).
    session : int
        Number of sessions completed so far.
    n_boxes : int
        Highest box.
    """

    def __init__(self, boxes=None, session: int = 0, n_boxes: int = N_BOXES):
        self.n_boxes = check_int("n_boxes", n_boxes, minimum=1)
        self.session = check_int("session", session, minimum=0)
        self.boxes = {}
        for card_id, box in dict(boxes or {}).items():
            if not isinstance(card_id, str):
                raise TypeError(f"boxes key {card_id!r} must be a card id (str)")
            self.boxes[card_id] = check_int(f"boxes[{card_id!r}]", box, minimum=1, maximum=self.n_boxes)

    def box(self, card_id: str) -> int:
        """The box of ``card_id`` (1 for a card never marked)."""
        return self.boxes.get(card_id, 1)

    def known(self, card_id: str) -> int:
        """Move ``card_id`` up one box (it stays in the top box); return the new box."""
        self.boxes[card_id] = min(self.box(card_id) + 1, self.n_boxes)
        return self.boxes[card_id]

    def again(self, card_id: str) -> int:
        """Send ``card_id`` back to box 1; return 1."""
        self.boxes[card_id] = 1
        return 1

    def is_due(self, card_id: str, session: int | None = None) -> bool:
        """Whether ``card_id`` is due in ``session`` (default: the next session, ``self.session``)."""
        session = self.session if session is None else session
        return session % (2 ** (self.box(card_id) - 1)) == 0

    def counts(self, card_ids) -> dict:
        """``{box: number of cards}`` over ``card_ids`` for every box 1..n_boxes."""
        counts = {box: 0 for box in range(1, self.n_boxes + 1)}
        for card_id in card_ids:
            counts[self.box(card_id)] += 1
        return counts

    def to_dict(self) -> dict:
        """A JSON-ready dict (see :meth:`from_dict`)."""
        return {"version": 1, "n_boxes": self.n_boxes, "session": self.session, "boxes": dict(self.boxes)}

    @classmethod
    def from_dict(cls, data) -> "LeitnerState":
        """Rebuild a state from :meth:`to_dict`'s output; ``ValueError``/``TypeError`` if malformed."""
        if not isinstance(data, dict):
            raise TypeError(f"progress must be a JSON object, got {type(data).__name__}")
        if data.get("version") != 1:
            raise ValueError(f"progress has version {data.get('version')!r}; this program reads version 1")
        if not isinstance(data.get("boxes"), dict):
            raise TypeError(f"progress 'boxes' must be an object, got {data.get('boxes')!r:.60}")
        return cls(boxes=data["boxes"], session=data.get("session"), n_boxes=data.get("n_boxes"))


def schedule(card_ids, state: LeitnerState, n: int, seed: int = 0) -> list:
    """Up to ``n`` card ids for the next session, in the order to ask them.

    Due cards come first, then (to fill ``n``) cards that are not due; within each group the
    lowest box goes first, and ties are ordered by a shuffle seeded with ``seed``.

    Parameters
    ----------
    card_ids : sequence of str
    state : LeitnerState
    n : int, >= 1
    seed : int

    Returns
    -------
    list of str, length min(n, len(card_ids))
    """
    n = check_int("n", n, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    card_ids = list(card_ids)
    rank = np.random.default_rng(seed).permutation(len(card_ids))
    keyed = [(not state.is_due(cid), state.box(cid), int(rank[i]), cid) for i, cid in enumerate(card_ids)]
    return [cid for *_, cid in sorted(keyed)[:n]]
