"""A mock interview over the deck's interview cards, shared by the terminal and the notebook widget.

One round per question: the question is asked; the candidate answers (typed, or aloud and then
presses Enter) while an optional countdown runs; the model answer and its key-point checklist are
shown; the candidate ticks the points they covered; a follow-up question from the same card comes
next, its answer is shown, and the candidate says whether they had it. The share of key points
covered becomes an FSRS rating, so weak questions come back sooner. :meth:`InterviewSession.report`
sums the session up (questions, points covered, time used, weakest topics) and :func:`save_report`
writes it beside the progress file.

Nothing here reads a keyboard or draws a widget; time is passed in as seconds taken.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .._checks import check_choice, check_float, check_int
from .._files import atomic_write_text
from .scheduler import ReviewState, schedule, utc_now
from .session import LANGUAGES, languages

#: interface text of the mock interview in each language
MESSAGES = {
    "zh": {
        "title": "模拟面试：{n} 道题。",
        "question": "第 {i}/{n} 题（{source} · {topic}）",
        "prompt": "输入你的回答后按 Enter；或者先大声说出来，再直接按 Enter。",
        "time_limit": "限时 {seconds} 秒。",
        "remaining": "剩余 {seconds} 秒",
        "time_up": "时间到！按 Enter 查看参考答案。",
        "took": "用时 {seconds:.0f} 秒",
        "over_time": "，超时 {seconds:.0f} 秒",
        "model": "参考答案",
        "checklist": "要点清单：",
        "tick": "输入你讲到的要点编号（例如 1 3），全部讲到输入 a，都没讲到直接按 Enter > ",
        "bad_tick": "没看懂 {text!r}：请输入 1 到 {n} 之间的编号，用空格分隔，或者 a。",
        "covered": "讲到了 {covered}/{total} 个要点。",
        "follow_up": "追问：",
        "follow_up_answer": "参考回答：",
        "had_it": "这个追问你答上来了吗？y = 是，n = 否 > ",
        "bad_yes_no": "请输入 y 或 n。",
        "report": "面试小结",
        "report_line": "{i}. [{source}] 要点 {covered}/{total}，用时 {seconds:.0f} 秒，追问{follow}",
        "follow_ok": "答上来了",
        "follow_missed": "没答上",
        "follow_skipped": "未回答",
        "total": "共 {n} 道题，覆盖要点 {covered}/{total}（{share:.0%}），追问答上 {ok}/{asked}。",
        "weakest": "最需要加强的主题：{topics}",
        "missed": "漏掉的要点：",
        "saved": "报告已保存到 {path}",
        "quit": "（输入 q 可随时结束）",
    },
    "en": {
        "title": "Mock interview: {n} questions.",
        "question": "Question {i}/{n} ({source} · {topic})",
        "prompt": "Type your answer and press Enter, or answer aloud first and then just press Enter.",
        "time_limit": "Time limit {seconds} s.",
        "remaining": "{seconds} s left",
        "time_up": "Time is up! Press Enter for the model answer.",
        "took": "took {seconds:.0f} s",
        "over_time": ", {seconds:.0f} s over time",
        "model": "Model answer",
        "checklist": "Key points:",
        "tick": "Numbers of the points you covered (e.g. 1 3), a = all, Enter = none > ",
        "bad_tick": "Could not read {text!r}: type numbers from 1 to {n} separated by spaces, or a.",
        "covered": "You covered {covered} of {total} key points.",
        "follow_up": "Follow-up:",
        "follow_up_answer": "Model answer:",
        "had_it": "Did you have this follow-up? y = yes, n = no > ",
        "bad_yes_no": "Type y or n.",
        "report": "Interview report",
        "report_line": "{i}. [{source}] key points {covered}/{total}, {seconds:.0f} s, follow-up {follow}",
        "follow_ok": "answered",
        "follow_missed": "missed",
        "follow_skipped": "not asked",
        "total": "{n} questions, key points covered {covered}/{total} ({share:.0%}), follow-ups answered {ok}/{asked}.",
        "weakest": "Weakest topics: {topics}",
        "missed": "Key points missed:",
        "saved": "Report saved to {path}",
        "quit": "(type q at any prompt to stop)",
    },
}


def message(lang: str, key: str, **values) -> str:
    """Interface text ``key`` in ``lang`` ("both" uses Chinese), formatted with ``values``."""
    check_choice("lang", lang, set(LANGUAGES))
    return MESSAGES["zh" if lang == "both" else lang][key].format(**values)


def rating_for(covered: int, total: int) -> str:
    """The FSRS rating for ``covered`` of ``total`` key points.

    All -> easy, at least 2/3 -> good, at least 1/3 -> hard, fewer -> again.
    """
    total = check_int("total", total, minimum=1)
    covered = check_int("covered", covered, minimum=0, maximum=total)
    share = covered / total
    return "easy" if share == 1 else "good" if share >= 2 / 3 else "hard" if share >= 1 / 3 else "again"


def parse_ticks(text: str, n_points: int):
    """The 0-based indices of the key points in ``text`` ("1 3", "1,3", "a" = all, "" = none).

    ``None`` if ``text`` cannot be read.
    """
    text = text.strip().lower().replace(",", " ").replace("，", " ")
    if text in ("a", "all", "全部"):
        return list(range(n_points))
    indices = []
    for word in text.split():
        if not word.isdigit() or not 1 <= int(word) <= n_points:
            return None
        indices.append(int(word) - 1)
    return sorted(set(indices))


@dataclass
class Round:
    """What happened with one question."""

    card_id: str
    source: str
    topic: str
    answer: str = ""
    seconds: float = 0.0
    time_limit: float | None = None
    ticked: list = field(default_factory=list)
    n_points: int = 0
    follow_up: int | None = None
    follow_up_answer: str = ""
    follow_up_ok: bool | None = None
    rating: str | None = None

    @property
    def covered(self) -> int:
        return len(self.ticked)


class InterviewSession:
    """Up to ``n`` interview questions (cards with a spoken answer), scheduled by FSRS.

    Parameters
    ----------
    deck : Deck
    state : ReviewState
        Updated in place when each question's key points are ticked.
    n : int
        Most questions to ask.
    lang : {"zh", "en", "both"}
    time_limit : float or None
        Seconds per answer (shown as a countdown by the front end); ``None`` for no limit.
    seed : int
        Orders new questions and picks each question's follow-up.
    clock : callable returning a timezone-aware datetime
    """

    def __init__(self, deck, state: ReviewState, n: int = 3, lang: str = "zh", time_limit=None, seed: int = 0,
                 clock=utc_now):
        check_choice("lang", lang, set(LANGUAGES))
        self.n = check_int("n", n, minimum=1)
        self.seed = check_int("seed", seed, minimum=0)
        self.time_limit = None if time_limit is None else check_float("time_limit", time_limit, minimum=0,
                                                                      strict_min=True)
        self.deck, self.state, self.lang, self.clock = deck, state, lang, clock
        cards = deck.interview_cards()
        ids = schedule([card.id for card in cards], state, self.n, now=clock(), seed=self.seed)
        self.queue = [deck.card(card_id) for card_id in ids]
        self.rounds = []
        self.rng = np.random.default_rng(self.seed)
        self.started = time.strftime("%Y%m%dT%H%M%S")

    @property
    def done(self) -> bool:
        return len(self.rounds) == len(self.queue) and (not self.rounds or self.rounds[-1].follow_up_ok is not None)

    @property
    def current(self):
        """The card of the round in progress (``None`` when the session is over)."""
        if self.rounds and self.rounds[-1].follow_up_ok is None:
            return self.deck.card(self.rounds[-1].card_id)
        return None if len(self.rounds) == len(self.queue) else self.queue[len(self.rounds)]

    def ask(self):
        """Start the next round; return its card."""
        if self.rounds and self.rounds[-1].follow_up_ok is None:
            raise RuntimeError("finish the current round (follow-up) before asking the next question")
        if len(self.rounds) == len(self.queue):
            raise RuntimeError("the interview is over; there is no question left")
        card = self.queue[len(self.rounds)]
        self.rounds.append(Round(card_id=card.id, source=card.source, topic=card.topic, time_limit=self.time_limit,
                                 n_points=len(card.interview.key_points)))
        return card

    def _round(self) -> Round:
        if not self.rounds:
            raise RuntimeError("no question has been asked yet; call ask() first")
        return self.rounds[-1]

    def answer(self, text: str, seconds: float) -> None:
        """Record the candidate's answer (``""`` if spoken aloud) and the seconds it took."""
        if not isinstance(text, str):
            raise TypeError(f"text={text!r} must be a str (empty for an answer given aloud)")
        round_ = self._round()
        round_.answer, round_.seconds = text, check_float("seconds", seconds, minimum=0)

    def tick(self, indices) -> str:
        """Record which key points (0-based) were covered; update FSRS; return the rating."""
        round_ = self._round()
        card = self.deck.card(round_.card_id)
        indices = sorted({check_int("key point", i, minimum=0, maximum=round_.n_points - 1) for i in indices})
        round_.ticked = indices
        round_.rating = rating_for(len(indices), round_.n_points)
        self.state.review(card.id, round_.rating, self.clock())
        round_.follow_up = int(self.rng.integers(len(card.follow_ups)))
        return round_.rating

    def follow_up(self):
        """The follow-up of the current round (after :meth:`tick`)."""
        round_ = self._round()
        if round_.follow_up is None:
            raise RuntimeError("tick the key points before the follow-up")
        return self.deck.card(round_.card_id).follow_ups[round_.follow_up]

    def follow_up_result(self, ok: bool, text: str = "") -> None:
        """Record whether the candidate had the follow-up (and what they typed); ends the round."""
        if not isinstance(ok, bool):
            raise TypeError(f"ok={ok!r} must be True or False")
        self.follow_up()
        round_ = self._round()
        round_.follow_up_answer, round_.follow_up_ok = text, ok

    def report(self) -> dict:
        """The session as a JSON-ready dict: rounds, totals and the weakest topics (lowest share covered first)."""
        rounds = [round_ for round_ in self.rounds if round_.rating is not None]
        covered = sum(r.covered for r in rounds)
        total = sum(r.n_points for r in rounds)
        by_topic = {}
        for r in rounds:
            got, out_of = by_topic.get(r.topic, (0, 0))
            by_topic[r.topic] = (got + r.covered + int(bool(r.follow_up_ok)), out_of + r.n_points + 1)
        weakest = sorted(by_topic, key=lambda t: (by_topic[t][0] / by_topic[t][1], t))
        missed = {r.card_id: [i for i in range(r.n_points) if i not in r.ticked] for r in rounds}
        asked = [r for r in rounds if r.follow_up_ok is not None]
        return {"started": self.started, "lang": self.lang, "time_limit": self.time_limit,
                "questions": len(rounds), "key_points_covered": covered, "key_points_total": total,
                "follow_ups_asked": len(asked), "follow_ups_answered": sum(bool(r.follow_up_ok) for r in asked),
                "weakest_topics": weakest[:3], "missed_key_points": missed,
                "rounds": [asdict(r) for r in rounds]}

    def report_text(self, report: dict | None = None) -> str:
        """:meth:`report` as text in the session's language, with the key points that were missed."""
        report = self.report() if report is None else report
        lang, code = self.lang, languages(self.lang)[0]
        lines = [message(lang, "report")]
        for i, r in enumerate(report["rounds"], start=1):
            outcome = {True: "follow_ok", False: "follow_missed", None: "follow_skipped"}[r["follow_up_ok"]]
            follow = message(lang, outcome)
            lines.append(message(lang, "report_line", i=i, source=r["source"], covered=len(r["ticked"]),
                                 total=r["n_points"], seconds=r["seconds"], follow=follow))
        share = report["key_points_covered"] / max(report["key_points_total"], 1)
        lines.append(message(lang, "total", n=report["questions"], covered=report["key_points_covered"],
                             total=report["key_points_total"], share=share, ok=report["follow_ups_answered"],
                             asked=report["follow_ups_asked"]))
        if report["weakest_topics"]:
            lines.append(message(lang, "weakest", topics=", ".join(report["weakest_topics"])))
        misses = [(card_id, idx) for card_id, idx in report["missed_key_points"].items() if idx]
        if misses:
            lines.append(message(lang, "missed"))
            for card_id, idx in misses:
                points = self.deck.card(card_id).interview.key_points
                lines += [f"  - [{card_id}] {points[i].text(code)}" for i in idx]
        return "\n".join(lines)


def save_report(session: InterviewSession, progress_path) -> Path:
    """Write the session's report beside the progress file: ``interview-<start time>.json`` and ``.txt``.

    Returns the path of the text report.
    """
    folder = Path(progress_path).expanduser().parent
    report = session.report()
    base = folder / f"interview-{session.started}"
    atomic_write_text(base.with_suffix(".json"), json.dumps(report, indent=1, ensure_ascii=False))
    return atomic_write_text(base.with_suffix(".txt"), session.report_text(report) + "\n")
