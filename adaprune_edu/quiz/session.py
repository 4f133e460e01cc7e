"""One drill session over the deck, shared by the terminal quiz and the flash-card widget.

A session picks its cards with :func:`~adaprune_edu.quiz.scheduler.schedule`, shows them one at
a time, and records a rating for each ("known" = FSRS *good*, "again"; also "hard" and "easy") in
the :class:`~adaprune_edu.quiz.scheduler.ReviewState`. Nothing here reads a keyboard or draws a
widget: the front ends call :meth:`DrillSession.reveal` and :meth:`DrillSession.mark` and display
:func:`question_text` / :func:`answer_text`.
"""
from __future__ import annotations

from .._checks import check_choice
from .scheduler import ReviewState, schedule, utc_now

LANGUAGES = ("zh", "en", "both")
#: what a learner can answer, and the FSRS rating it stands for
RESULTS = {"known": "good", "again": "again", "hard": "hard", "easy": "easy"}
#: section headings in each language
HEADINGS = {
    "zh": {"short": "简答", "long": "详解", "follow_ups": "可能的追问", "wrong": "常见错误回答",
           "spoken": "60 秒口头回答", "key_points": "面试官关注的要点", "why": "错在哪里"},
    "en": {"short": "Short answer", "long": "In depth", "follow_ups": "Likely follow-ups",
           "wrong": "Common wrong answers", "spoken": "60-second spoken answer",
           "key_points": "Key points the interviewer listens for", "why": "why"},
}


def languages(lang: str) -> tuple:
    """``("zh",)``, ``("en",)`` or ``("zh", "en")`` for ``lang`` = "zh", "en", "both"."""
    check_choice("lang", lang, set(LANGUAGES))
    return ("zh", "en") if lang == "both" else (lang,)


def question_text(card, lang: str = "both") -> str:
    """The question in Chinese, English, or both (Chinese first, as in the interview bank)."""
    return "\n".join(card.text("question", code) for code in languages(lang))


def follow_up_lines(follow_up, code: str) -> list:
    """A follow-up as one "Q -> A" string in language ``code``."""
    return [f"{follow_up.text('question', code)} → {follow_up.text('answer', code)}"]


def wrong_answer_lines(wrong, code: str) -> list:
    """A wrong answer and why, as one string in language ``code``."""
    return [f"{wrong.text('answer', code)} — {HEADINGS[code]['why']}: {wrong.text('why', code)}"]


def answer_sections(card, lang: str = "both") -> list:
    """The answer as ``(heading, text or list of str)`` pairs, shortest first, in ``lang``.

    For "both", each section comes in Chinese and then in English.
    """
    codes = languages(lang)
    sections = []
    for stem, key in (("answer_short", "short"), ("answer_long", "long")):
        sections += [(HEADINGS[code][key], card.text(stem, code)) for code in codes]
    for code in codes:
        sections.append((HEADINGS[code]["follow_ups"],
                         [line for item in card.follow_ups for line in follow_up_lines(item, code)]))
    for code in codes:
        sections.append((HEADINGS[code]["wrong"],
                         [line for item in card.common_wrong_answers for line in wrong_answer_lines(item, code)]))
    return sections


def interview_sections(card, lang: str = "both") -> list:
    """The model answer of an interview card: spoken answer and key points, in ``lang``."""
    if card.interview is None:
        raise ValueError(f"card {card.id!r} has no interview answer; use one of deck.interview_cards()")
    sections = []
    for code in languages(lang):
        sections.append((HEADINGS[code]["spoken"], card.interview.text(code)))
        sections.append((HEADINGS[code]["key_points"], [point.text(code) for point in card.interview.key_points]))
    return sections


def sections_text(sections) -> str:
    """``(heading, body)`` sections as plain text for a terminal."""
    lines = []
    for heading, body in sections:
        lines.append(f"{heading}:")
        if isinstance(body, list):
            lines += [f"  - {item}" for item in body]
        else:
            lines.append(f"  {body}")
    return "\n".join(lines)


def answer_text(card, lang: str = "both") -> str:
    """:func:`answer_sections` as plain text for a terminal."""
    return sections_text(answer_sections(card, lang))


class DrillSession:
    """Ask up to ``n`` cards of ``deck`` (optionally one ``topic``), updating ``state``.

    Parameters
    ----------
    deck : Deck
    state : ReviewState
        Updated in place by :meth:`mark`; its session counter advances in :meth:`finish`.
    n : int
        Most cards to ask.
    topic : str or None
        Only cards of this topic.
    seed : int or None
        Seeds the order of new cards; ``None`` uses the session number, so each session is
        shuffled differently yet reproducibly.
    clock : callable returning a timezone-aware datetime
        The time of each review (default: the system clock, UTC).
    """

    def __init__(self, deck, state: ReviewState, n: int = 10, topic: str | None = None, seed: int | None = None,
                 clock=utc_now):
        self.deck = deck
        self.state = state
        self.clock = clock
        cards = deck.select(topic)
        if not cards:
            raise ValueError(f"topic={topic!r} has no cards")
        seed = state.session if seed is None else seed
        ids = schedule([c.id for c in cards], state, n, now=clock(), seed=seed)
        self.queue = [deck.card(card_id) for card_id in ids]
        self.position = 0
        self.revealed = False
        self.results = []  # (card id, result, new due date)
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

    def mark(self, result: str):
        """Record ``"known"``, ``"again"``, ``"hard"`` or ``"easy"`` for the current card; return its next due date."""
        check_choice("result", result, set(RESULTS))
        if self.done:
            raise RuntimeError("the session is over; there is no card to mark")
        card = self.current
        due = self.state.review(card.id, RESULTS[result], self.clock())
        self.results.append((card.id, result, due))
        self.position += 1
        self.revealed = False
        return due

    def finish(self) -> None:
        """Count the session as completed (once, and only if a card was marked)."""
        if self.results and not self._finished:
            self.state.session += 1
            self._finished = True

    def summary(self) -> str:
        """One line: cards marked known / again, and how many cards are new, due now or later."""
        known = sum(1 for _, result, _ in self.results if result in ("known", "easy"))
        again = len(self.results) - known
        counts = self.state.counts((card.id for card in self.deck.cards), self.clock())
        return (f"{known} known, {again} again or hard, {len(self.queue) - len(self.results)} skipped. "
                f"Deck: {counts['new']} new, {counts['due']} due now, {counts['later']} later.")
