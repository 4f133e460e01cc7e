"""Flash cards over the interview deck: show, reveal, mark known or again.

The same deck, FSRS scheduling and session logic as ``adaprune-edu quiz``
(:mod:`adaprune_edu.quiz`); only the front end differs. Progress stays in memory unless a
``progress_file`` is given (pass the terminal quiz's file to share progress with it).

>>> cards = FlashCards(lang="both", n=5, seed=0)      # doctest: +SKIP
>>> cards                                             # in a notebook: the card and its buttons
"""
from __future__ import annotations

import html

import ipywidgets as widgets

from .._checks import check_choice, check_int
from ..quiz.deck import load_deck
from ..quiz.progress import load_progress, save_progress
from ..quiz.scheduler import ReviewState
from ..quiz.session import LANGUAGES, DrillSession, answer_sections


def question_html(card, lang: str) -> str:
    """The question block: topic and source, then the question in the chosen language(s)."""
    lines = {"zh": [card.question_zh], "en": [card.question_en], "both": [card.question_zh, card.question_en]}[lang]
    head = f"<div style='color:gray'>{html.escape(card.topic)} · {html.escape(card.source)}</div>"
    return head + "".join(f"<p style='font-size:1.15em'><b>{html.escape(line)}</b></p>" for line in lines)


def answer_html(card, lang: str) -> str:
    """The answer block: short answer(s), the long answer, follow-ups and wrong answers."""
    parts = []
    for heading, body in answer_sections(card, lang):
        if isinstance(body, list):
            items = "".join(f"<li>{html.escape(item)}</li>" for item in body)
            parts.append(f"<p><b>{html.escape(heading)}</b></p><ul>{items}</ul>")
        else:
            parts.append(f"<p><b>{html.escape(heading)}:</b> {html.escape(body)}</p>")
    return "".join(parts)


class FlashCards:
    """A flash-card drill in a notebook.

    Parameters
    ----------
    deck : Deck, optional (default: the package's deck)
    lang : {"zh", "en", "both"}
    n : int, cards per session
    topic : str or None, only cards of this topic
    seed : int or None, order of equally due cards (None: the session number)
    progress_file : path or None, where the FSRS review state is kept between sessions
    """

    def __init__(self, deck=None, lang="both", n=10, topic=None, seed=0, progress_file=None):
        check_choice("lang", lang, set(LANGUAGES))
        self.n = check_int("n", n, minimum=1)
        self.deck = load_deck() if deck is None else deck
        if topic is not None:
            self.deck.select(topic)  # raises for an unknown topic
        self.topic, self.seed, self.progress_file = topic, seed, progress_file
        message = None
        if progress_file is None:
            self.state = ReviewState()
        else:
            self.state, message = load_progress(progress_file)
        self.lang = widgets.ToggleButtons(options=LANGUAGES, value=lang, description="language")
        self.question = widgets.HTML()
        self.answer = widgets.HTML()
        self.notice = widgets.HTML(f"<p style='color:#b00020'>{html.escape(message)}</p>" if message else "")
        self.status = widgets.HTML()
        self.reveal_button = widgets.Button(description="Reveal", button_style="info")
        self.known_button = widgets.Button(description="Known", button_style="success")
        self.again_button = widgets.Button(description="Again", button_style="warning")
        self.next_session_button = widgets.Button(description="New session")
        self.reveal_button.on_click(lambda _: self.reveal())
        self.known_button.on_click(lambda _: self.mark("known"))
        self.again_button.on_click(lambda _: self.mark("again"))
        self.next_session_button.on_click(lambda _: self.new_session())
        self.lang.observe(lambda _: self.show(), names="value")
        buttons = widgets.HBox([self.reveal_button, self.known_button, self.again_button, self.next_session_button])
        self.widget = widgets.VBox([self.notice, self.lang, self.question, buttons, self.answer, self.status])
        self.new_session(seed=seed)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    def new_session(self, seed=None) -> None:
        """Start a session with the cards that are due now."""
        self.session = DrillSession(self.deck, self.state, n=self.n, topic=self.topic, seed=seed)
        self.show()

    def show(self) -> None:
        """Refresh the question, the answer (if revealed), the buttons and the progress line."""
        session = self.session
        if session.done:
            self.question.value = "<p><b>Session complete.</b></p>"
            self.answer.value = f"<p>{html.escape(session.summary())}</p>"
        else:
            card = session.current
            self.question.value = question_html(card, self.lang.value)
            self.answer.value = answer_html(card, self.lang.value) if session.revealed else ""
        self.reveal_button.disabled = session.done or session.revealed
        self.known_button.disabled = self.again_button.disabled = session.done
        position = min(session.position + 1, len(session.queue))
        due = "" if session.done or not self.state.seen(session.current.id) else \
            f", due {self.state.due(session.current.id):%Y-%m-%d}"
        self.status.value = f"card {position} of {len(session.queue)}{due}"

    def reveal(self) -> None:
        """Show the answer of the current card."""
        if not self.session.done:
            self.session.reveal()
        self.show()

    def mark(self, result: str) -> None:
        """Mark the current card ``"known"`` or ``"again"``, save progress if there is a file, show the next."""
        if self.session.done:
            return
        self.session.mark(result)
        if self.session.done:
            self.session.finish()
        if self.progress_file is not None:
            save_progress(self.state, self.progress_file)
        self.show()
