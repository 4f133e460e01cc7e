"""The deck's answers as markdown, so notebooks show the same text as the cards and the quiz.

>>> from IPython.display import Markdown                                  # doctest: +SKIP
>>> Markdown(interview_markdown(load_deck().card("q4-advantages"), "zh"))  # doctest: +SKIP
"""
from __future__ import annotations

from .session import HEADINGS, languages

TITLE = {"zh": "面试回答", "en": "Interview answer"}
COLON = {"zh": "：", "en": ": "}


def _escape(text: str) -> str:
    """Keep markdown from reading ``*``, ``_`` or ``|`` in the deck's plain text as formatting."""
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("|", "\\|")


def interview_markdown(card, lang: str = "both") -> str:
    """An "Interview answer" box for ``card``: question, 60-second answer, key points, follow-ups with answers,
    and common wrong answers with why, in ``lang`` ("zh", "en" or "both")."""
    if card.interview is None:
        raise ValueError(f"card {card.id!r} has no interview answer; use one of deck.interview_cards()")
    parts = []
    for code in languages(lang):
        words, colon = HEADINGS[code], COLON[code]
        parts.append(f"### {TITLE[code]}{colon}{_escape(card.text('question', code))}")
        parts.append(f"**{words['spoken']}**{colon}{_escape(card.interview.text(code))}")
        parts.append(f"**{words['key_points']}**{colon}\n" + "\n".join(f"- [ ] {_escape(p.text(code))}"
                                                                for p in card.interview.key_points))
        parts.append(f"**{words['follow_ups']}**{colon}\n" + "\n".join(
            f"- *{_escape(f.text('question', code))}* {_escape(f.text('answer', code))}" for f in card.follow_ups))
        parts.append(f"**{words['wrong']}**{colon}\n" + "\n".join(
            f"- {_escape(w.text('answer', code))} — {_escape(w.text('why', code))}" for w in card.common_wrong_answers))
    return "\n\n".join(parts)
