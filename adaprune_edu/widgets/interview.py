"""The mock interview as a notebook widget: the same rounds as ``adaprune-edu quiz --mode interview``.

The logic is :class:`~adaprune_edu.quiz.interview.InterviewSession`; this module only lays it out.
Each round: the question (and, with ``time_limit``, a countdown driven by an ``ipywidgets.Play``
ticker), a box for a typed answer and a *Done* button (press it after answering aloud, too), the
model answer with one checkbox per key point and a *Submit* button, then a follow-up with its answer
and *Had it* / *Missed it*. At the end the report is shown (and saved beside ``progress_file`` if
one is given). Tests drive it by setting ``.value`` and calling ``.click()``.
"""
from __future__ import annotations

import html
import time

import ipywidgets as widgets

from ..quiz.deck import load_deck
from ..quiz.interview import InterviewSession, message, save_report
from ..quiz.progress import load_progress, save_progress
from ..quiz.scheduler import ReviewState, utc_now
from ..quiz.session import LANGUAGES, interview_sections, languages, question_text

LABELS = {"zh": {"done": "答完了", "submit": "提交要点", "had": "答上来了", "missed": "没答上", "show": "看参考回答",
                 "new": "新一轮面试", "answer": "在这里输入回答（或者大声说出来）"},
          "en": {"done": "Done", "submit": "Submit points", "had": "Had it", "missed": "Missed it",
                 "show": "Show answer", "new": "New interview", "answer": "Type your answer here (or say it aloud)"}}


class InterviewWidget:
    """A mock interview in a notebook.

    Parameters
    ----------
    deck : Deck, optional (default: the package's deck)
    n : int, questions per interview
    lang : {"zh", "en", "both"}
    time_limit : float or None, seconds per answer (shown as a countdown)
    seed : int, orders new questions and picks follow-ups
    progress_file : path or None, the FSRS state to update (shared with the terminal quiz)
    clock : callable returning a timezone-aware datetime (default: the system clock)
    """

    def __init__(self, deck=None, n=3, lang="zh", time_limit=None, seed=0, progress_file=None, clock=utc_now):
        self.deck = load_deck() if deck is None else deck
        self.n, self.seed, self.progress_file, self.clock = n, seed, progress_file, clock
        self.time_limit = time_limit
        notice = None
        if progress_file is None:
            self.state = ReviewState()
        else:
            self.state, notice = load_progress(progress_file)
        if lang not in LANGUAGES:
            raise ValueError(f"lang={lang!r} is not allowed; choose one of {sorted(LANGUAGES)}")
        self.lang = lang
        ui = LABELS["zh" if lang == "both" else lang]
        self.notice = widgets.HTML(f"<p style='color:#b00020'>{html.escape(notice)}</p>" if notice else "")
        self.question = widgets.HTML()
        self.countdown = widgets.HTML()
        self.ticker = widgets.Play(value=0, min=0, max=int(time_limit or 1), interval=1000, show_repeat=False)
        self.ticker.layout.display = None if time_limit else "none"
        self.typed = widgets.Textarea(placeholder=ui["answer"], layout=widgets.Layout(width="100%", height="6em"))
        self.done_button = widgets.Button(description=ui["done"], button_style="info")
        self.model = widgets.HTML()
        self.checklist = widgets.VBox()
        self.submit_button = widgets.Button(description=ui["submit"], button_style="primary")
        self.follow_up = widgets.HTML()
        self.follow_up_typed = widgets.Textarea(layout=widgets.Layout(width="100%", height="4em"))
        self.show_button = widgets.Button(description=ui["show"])
        self.had_button = widgets.Button(description=ui["had"], button_style="success")
        self.missed_button = widgets.Button(description=ui["missed"], button_style="warning")
        self.report = widgets.HTML()
        self.new_button = widgets.Button(description=ui["new"])
        self.done_button.on_click(lambda _: self.done())
        self.submit_button.on_click(lambda _: self.submit())
        self.show_button.on_click(lambda _: self.show_follow_up_answer())
        self.had_button.on_click(lambda _: self.follow_up_result(True))
        self.missed_button.on_click(lambda _: self.follow_up_result(False))
        self.new_button.on_click(lambda _: self.new_interview())
        self.ticker.observe(lambda change: self._tick(change["new"]), names="value")
        self.widget = widgets.VBox([
            self.notice, self.question, widgets.HBox([self.ticker, self.countdown]), self.typed, self.done_button,
            self.model, self.checklist, self.submit_button, self.follow_up, self.follow_up_typed, self.show_button,
            widgets.HBox([self.had_button, self.missed_button]), self.report, self.new_button])
        self.new_interview()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)

    # ------------------------------------------------------------------ stages
    def _stage(self, stage: str) -> None:
        """Enable the controls of one stage: "answer", "tick", "follow_up", "verdict" or "over"."""
        self.stage = stage
        self.typed.disabled = self.done_button.disabled = stage != "answer"
        self.submit_button.disabled = stage != "tick"
        for box in self.checklist.children:
            box.disabled = stage != "tick"
        self.follow_up_typed.disabled = self.show_button.disabled = stage != "follow_up"
        self.had_button.disabled = self.missed_button.disabled = stage != "verdict"

    def new_interview(self) -> None:
        """Start an interview with the questions due now."""
        self.session = InterviewSession(self.deck, self.state, n=self.n, lang=self.lang, time_limit=self.time_limit,
                                        seed=self.seed + self.state.session, clock=self.clock)
        self.report.value = ""
        self._ask()

    def _ask(self) -> None:
        card = self.session.ask()
        heading = message(self.lang, "question", i=len(self.session.rounds), n=len(self.session.queue),
                          source=card.source, topic=card.topic)
        lines = "".join(f"<p style='font-size:1.15em'><b>{html.escape(line)}</b></p>"
                        for line in question_text(card, self.lang).splitlines())
        self.question.value = f"<div style='color:gray'>{html.escape(heading)}</div>{lines}"
        self.typed.value = self.follow_up_typed.value = ""
        self.model.value = self.follow_up.value = ""
        self.checklist.children = ()
        self.started = time.monotonic()
        self.ticker.value = 0
        self._tick(0)
        self._stage("answer")

    def _tick(self, elapsed: int) -> None:
        """Redraw the countdown after ``elapsed`` seconds (the ``Play`` ticker's value)."""
        if not self.time_limit:
            self.countdown.value = ""
            return
        left = self.time_limit - elapsed
        text = message(self.lang, "remaining", seconds=int(max(left, 0))) if left > 0 else \
            message(self.lang, "time_up")
        self.countdown.value = f"<b>{html.escape(text)}</b>"

    def done(self, seconds: float | None = None) -> None:
        """The answer is finished: record it and show the model answer and the checklist."""
        if self.stage != "answer":
            return
        seconds = time.monotonic() - self.started if seconds is None else seconds
        self.session.answer(self.typed.value, seconds)
        card = self.deck.card(self.session.rounds[-1].card_id)
        code = languages(self.lang)[0]
        spoken = [body for _, body in interview_sections(card, self.lang) if isinstance(body, str)]
        took = message(self.lang, "took", seconds=seconds)
        model, checklist = html.escape(message(self.lang, "model")), html.escape(message(self.lang, "checklist"))
        self.model.value = (f"<p style='color:gray'>{html.escape(took)}</p><h4>{model}</h4>"
                            + "".join(f"<p>{html.escape(text)}</p>" for text in spoken) + f"<p><b>{checklist}</b></p>")
        self.checklist.children = tuple(widgets.Checkbox(value=False, description=point.text(code), indent=False,
                                                         layout=widgets.Layout(width="100%"))
                                        for point in card.interview.key_points)
        self._stage("tick")

    def submit(self) -> None:
        """Record the ticked key points, update FSRS (and the progress file), show the follow-up."""
        if self.stage != "tick":
            return
        ticked = [i for i, box in enumerate(self.checklist.children) if box.value]
        self.session.tick(ticked)
        if self.progress_file is not None:
            save_progress(self.state, self.progress_file)
        code = languages(self.lang)[0]
        covered = message(self.lang, "covered", covered=len(ticked), total=len(self.checklist.children))
        question = self.session.follow_up().text("question", code)
        self.follow_up.value = (f"<p>{html.escape(covered)}</p><p><b>{html.escape(message(self.lang, 'follow_up'))}"
                                f"</b> {html.escape(question)}</p>")
        self._stage("follow_up")

    def show_follow_up_answer(self) -> None:
        if self.stage != "follow_up":
            return
        answer = self.session.follow_up().text("answer", languages(self.lang)[0])
        self.follow_up.value += (f"<p><b>{html.escape(message(self.lang, 'follow_up_answer'))}</b> "
                                 f"{html.escape(answer)}</p>")
        self._stage("verdict")

    def follow_up_result(self, ok: bool) -> None:
        """Record the follow-up; ask the next question, or end with the report."""
        if self.stage != "verdict":
            return
        self.session.follow_up_result(ok, self.follow_up_typed.value)
        if len(self.session.rounds) < len(self.session.queue):
            self._ask()
            return
        self.state.session += 1
        text = self.session.report_text()
        if self.progress_file is not None:
            save_progress(self.state, self.progress_file)
            path = save_report(self.session, self.progress_file)
            text += "\n" + message(self.lang, "saved", path=path)
        self.report.value = "<pre style='white-space:pre-wrap'>" + html.escape(text) + "</pre>"
        self._stage("over")
