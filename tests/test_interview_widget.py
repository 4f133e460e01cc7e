"""The mock-interview widget, driven as a learner would: set values, click buttons."""
import html
import json
from datetime import datetime, timezone

import pytest

from adaprune_edu.quiz import load_deck
from adaprune_edu.widgets.interview import InterviewWidget

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def test_a_whole_interview_in_chinese(tmp_path):
    path = tmp_path / "progress.json"
    w = InterviewWidget(n=2, lang="zh", time_limit=60, seed=0, progress_file=path, clock=lambda: T0)
    first = w.deck.card(w.session.rounds[-1].card_id)
    assert first.question_zh in w.question.value and first.question_en not in w.question.value
    assert "剩余 60 秒" in w.countdown.value and w.stage == "answer" and w.submit_button.disabled
    w.ticker.value = 30
    assert "剩余 30 秒" in w.countdown.value
    w.ticker.value = 60
    assert "时间到" in w.countdown.value
    w.typed.value = "先说目的，再说怎么做……"
    w.done_button.click()
    assert html.escape(first.interview.spoken_zh) in w.model.value and "参考答案" in w.model.value
    assert [box.description for box in w.checklist.children] == [p.zh for p in first.interview.key_points]
    assert w.done_button.disabled and not w.submit_button.disabled
    w.checklist.children[0].value = w.checklist.children[1].value = True
    w.submit_button.click()
    assert f"讲到了 2/{len(first.interview.key_points)}" in w.follow_up.value and "追问" in w.follow_up.value
    assert json.loads(path.read_text(encoding="utf-8"))["cards"].keys() == {first.id}
    w.show_button.click()
    assert html.escape(w.session.follow_up().answer_zh) in w.follow_up.value
    w.had_button.click()
    second = w.deck.card(w.session.rounds[-1].card_id)
    assert second.id != first.id and w.stage == "answer" and w.model.value == ""
    w.done_button.click()
    w.submit_button.click()  # nothing ticked
    w.show_button.click()
    w.missed_button.click()
    assert w.stage == "over" and "面试小结" in w.report.value and "追问答上 1/2" in w.report.value
    assert "报告已保存到" in w.report.value and len(list(tmp_path.glob("interview-*.txt"))) == 1
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["session"] == 1 and set(saved["cards"]) == {first.id, second.id}


def test_buttons_out_of_order_do_nothing_and_english_works():
    w = InterviewWidget(n=1, lang="en", seed=1, clock=lambda: T0)
    w.submit_button.click()
    w.had_button.click()
    assert w.stage == "answer" and w.countdown.value == "" and w.ticker.layout.display == "none"
    card = w.deck.card(w.session.rounds[-1].card_id)
    assert html.escape(card.question_en) in w.question.value and "Done" == w.done_button.description
    w.done_button.click()
    assert html.escape(card.interview.spoken_en) in w.model.value
    w.new_button.click()
    assert w.stage == "answer" and len(w.session.rounds) == 1
    with pytest.raises(ValueError, match="lang='fr'"):
        InterviewWidget(lang="fr")


def test_the_widget_and_the_terminal_share_one_deck():
    w = InterviewWidget(n=len(load_deck().interview_cards()), seed=0)
    assert {card.id for card in w.session.queue} == {card.id for card in load_deck().interview_cards()}
