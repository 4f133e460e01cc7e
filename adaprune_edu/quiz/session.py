"""One drill session over the deck, shared by the terminal quiz and the flash-card widget.

A session picks its cards with :func:`~adaprune_edu.quiz.leitner.schedule`, shows them one at
a time, and records "known" or "again" for each in the :class:`LeitnerState`. Nothing here
reads a keyboard or draws a widget: the front ends call :meth:`DrillSession.reveal` and
:meth:`DrillSession.mark` and display :func:`question_text` / :func:`answer_text`.
"""
from __future__ import annotations

from .._checks import check_choice
from .leitner import LeitnerState, schedule

LANGUAGES = ("zh", "en", "both")
RESULTS = ("known", "again")


def question_text(card, lang: str = "both") -> str:
    """The question in Chinese, English, or both (Chinese first, as in the interview bank)."""
    check_choice("lang", lang, set(LANGUAGES))
    parts = {"zh": [card.question_zh], "en": [card.question_en], "both": [card.question_zh, card.question_en]}
    return "\n".join(parts[lang])


def answer_sections(card, lang: str = "both") -> list:
    """The answer as ``(heading, text or list of str)`` pairs, shortest first.

    The short answer follows ``lang``; the long answer, follow-ups and common wrong answers
    exist in English only and are always included (empty lists are left out).
    """
    check_choice("lang", lang, set(LANGUAGES))
    sections = []
    if lang in ("zh", "both"):
        sections.append(("简答", card.answer_short_zh))
    if lang in ("en", "both"):
        sections.append(("Short answer", card.answer_short_en))
    sections.append(("In depth", card.answer_long_en))
    if card.follow_ups:
        sections.append(("Likely follow-ups", list(card.follow_ups)))
    if card.common_wrong_answers:
        sections.append(("Common wrong answers", list(card.common_wrong_answers)))
    return sections


def answer_text(card, lang: str = "both") -> str:
    """:func:`answer_sections` as plain text for a terminal."""
    lines = []
    for heading, body in answer_sections(card, lang):
        lines.append(f"{heading}:")
        if isinstance(body, list):
            lines += [f"  - {item}" for item in body]
        else:
            lines.append(f"  {body}")
    return "\n".join(lines)


class DrillSession:
    """Ask up to ``n`` cards of ``deck`` (optionally one ``topic``), updating ``state``.

    Parameters
    ----------
    deck : Deck
    state : LeitnerState
        Updated in place by :meth:`mark`; its session counter advances in :meth:`finish`.
    n : int
        Most cards to ask.
    topic : str or None
        Only cards of this topic.
    seed : int or None
        Seeds the order of equally ranked cards; ``None`` uses the session number, so each
        session is shuffled differently yet reproducibly.
    """

    def __init__(self, deck, state: LeitnerState, n: int = 10, topic: str | None = None, seed: int | None = None):
        self.deck = deck
        self.state = state
        cards = deck.select(topic)
        if not cards:
            raise ValueError(f"topic={topic!r} has no cards")
        seed = state.session if seed is None else seed
        self.queue = [deck.card(card_id) for card_id in schedule([c.id for c in cards], state, n, seed)]
        self.position = 0
        self.revealed = False
        self.results = []  # (card id, "known" / "again", new box)
        self._finished = False

    @property
    def current(self):
        """The card being asked, or ``None`` when the session is over."""
        return self.queue[self.position] if self.position < len(self.queue) else None

    @property
    def done(self) -> bool:
        return self.current is None

    def reveal(self):
        """Show the answer of the current card; return the card."""
        if self.done:
            raise RuntimeError("the session is over; there is no card to reveal")
        self.revealed = True
        return self.current

    def mark(self, result: str) -> int:
        """Record ``"known"`` or ``"again"`` for the current card, move on, return its new box."""
        check_choice("result", result, set(RESULTS))
        if self.done:
            raise RuntimeError("the session is over; there is no card to mark")
        card = self.current
        box = self.state.known(card.id) if result == "known" else self.state.again(card.id)
        self.results.append((card.id, result, box))
        self.position += 1
        self.revealed = False
        return box

    def finish(self) -> None:
        """Count the session as completed (once, and only if a card was marked)."""
        if self.results and not self._finished:
            self.state.session += 1
            self._finished = True

    def summary(self) -> str:
        """One line: cards marked known / again, and how the deck is spread over the boxes."""
        known = sum(1 for _, result, _ in self.results if result == "known")
        again = len(self.results) - known
        counts = self.state.counts(card.id for card in self.deck.cards)
        boxes = ", ".join(f"box {box}: {count}" for box, count in counts.items())
        return f"{known} known, {again} again, {len(self.queue) - len(self.results)} skipped. Deck: {boxes}."
