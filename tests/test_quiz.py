"""The interview deck, FSRS scheduling, progress files, the terminal drill and the mock interview."""
import doctest
import io
import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from adaprune_edu.quiz import (
    DrillSession,
    InterviewSession,
    LeitnerState,
    ReviewState,
    load_deck,
    load_progress,
    save_progress,
    schedule,
)
from adaprune_edu.quiz.deck import DECK_PATH, INTERVIEW_SOURCES, check_interview_coverage, parse_deck
from adaprune_edu.quiz.interview import parse_ticks, rating_for, save_report
from adaprune_edu.quiz.session import answer_text, interview_sections, question_text
from adaprune_edu.quiz.terminal import main
from adaprune_edu.quiz.wrap import CLOSING, display_width, fill, fill_lines

CJK = re.compile(r"[\u4e00-\u9fff]")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def deck():
    return load_deck()


@pytest.fixture
def raw_deck():
    return json.loads(DECK_PATH.read_text(encoding="utf-8"))


def texts(card, lang):
    """Every text of a card in one language."""
    out = [card.text("question", lang), card.text("answer_short", lang), card.text("answer_long", lang)]
    out += [f.text(stem, lang) for f in card.follow_ups for stem in ("question", "answer")]
    out += [w.text(stem, lang) for w in card.common_wrong_answers for stem in ("answer", "why")]
    if card.interview:
        out += [card.interview.text(lang)] + [p.text(lang) for p in card.interview.key_points]
    return out


# ------------------------------------------------------------------ the deck
def test_deck_covers_all_seven_questions_both_exercises_and_follow_ups(deck):
    assert len(deck) >= 30
    sources = [card.source for card in deck.cards]
    for q in range(1, 8):
        assert f"Q{q}" in sources, f"no card answers seed question Q{q}"
    assert sum(s.startswith("exercise 8") for s in sources) >= 5
    assert sum(s.startswith("exercise 9") for s in sources) >= 5
    assert sum(s.startswith("follow-up") for s in sources) >= 10
    assert {card.topic for card in deck.cards} == set(deck.topics)


def test_every_text_of_every_card_exists_in_both_languages(deck):
    for card in deck.cards:
        assert card.follow_ups and card.common_wrong_answers, card.id
        zh, en = texts(card, "zh"), texts(card, "en")
        assert len(zh) == len(en)
        assert all(text.strip() and CJK.search(text) for text in zh), card.id
        assert all(text.strip() and not CJK.search(text) for text in en), card.id
        assert len(card.answer_long_en) > len(card.answer_short_en), card.id


def test_interview_answers_for_the_seven_questions_and_both_exercises(deck):
    check_interview_coverage(deck)
    cards = deck.interview_cards()
    # the nine sources once each; further interview cards (the later notebooks' boxes) are follow-up cards
    assert sorted(card.source for card in cards if card.source in INTERVIEW_SOURCES) == sorted(INTERVIEW_SOURCES)
    assert all(card.source in INTERVIEW_SOURCES or card.source.startswith("follow-up to ") for card in cards)
    for card in cards:
        spoken_zh, spoken_en = card.interview.spoken_zh, card.interview.spoken_en
        # about a minute spoken: ~200-300 Chinese characters a minute, ~130-170 English words
        assert 200 <= len(CJK.findall(spoken_zh)) <= 420, (card.id, len(CJK.findall(spoken_zh)))
        assert 110 <= len(spoken_en.split()) <= 200, (card.id, len(spoken_en.split()))
        assert 3 <= len(card.interview.key_points) <= 6, card.id
        assert len(card.follow_ups) >= 2, card.id
    follow_ups = " ".join(f.question_en + f.answer_en for card in cards for f in card.follow_ups)
    for topic in ("channel", "lottery", "SparseGPT", "Wanda", "2:4"):
        assert topic in follow_ups, f"no interview follow-up about {topic}"


def test_missing_interview_coverage_is_refused(raw_deck):
    for raw in raw_deck["cards"]:
        if raw["source"] == "Q3":
            raw.pop("interview")
    with pytest.raises(ValueError, match="source 'Q3' needs exactly one card with an interview answer"):
        check_interview_coverage(parse_deck(raw_deck))


def test_seed_questions_are_quoted_verbatim(deck):
    seed_questions = {
        "q1-purpose": "自适应剪枝的主要目的是什么？",
        "q2-principle": "请简要描述剪枝（Pruning）的基本原理。",
        "q3-taxonomy": "剪枝可以分为哪几类？",
        "q4-advantages": "自适应剪枝与传统的静态剪枝相比，有哪些优势？",
        "q5-scenarios": "自适应剪枝在哪些场景下具有优势？",
        "q6-algorithms": "自适应剪枝有哪些主要的算法？",
        "q7-applications": "请简述自适应剪枝在深度学习模型压缩中的应用。",
    }
    for card_id, question in seed_questions.items():
        assert deck.card(card_id).question_zh == question


def test_deck_corrects_the_seed_where_it_is_wrong(deck):
    q7 = deck.card("q7-applications")
    assert "accelerates training" in q7.answer_short_en and "wrong" in q7.answer_short_en
    assert "加速训练" in q7.answer_short_zh
    q4_wrong = [w.answer_en for w in deck.card("q4-advantages").common_wrong_answers]
    assert any("always preserves performance" in wrong for wrong in q4_wrong)
    assert "IndexError" in deck.card("ex9-index-error").answer_short_en
    assert "backwards" in deck.card("ex9-logic-backwards").answer_short_en


def test_review_corrections_of_issue_8(deck):
    raw_gradient = deck.card("q6-raw-gradient")
    assert "near random" not in raw_gradient.answer_long_en + raw_gradient.answer_short_en
    assert "better than random" in raw_gradient.answer_short_en and "比随机" in raw_gradient.answer_short_zh
    taylor = deck.card("q6-taylor")
    assert "per example" in taylor.answer_short_en and "eq. 8" in taylor.answer_short_en
    assert not any("before averaging (signs cancel" in w.answer_en for w in taylor.common_wrong_answers)
    q4 = deck.card("q4-advantages")
    assert "Gao et al. 2019" in q4.answer_long_en and "Hua et al. 2019" in q4.answer_long_en
    assert any("channel gating" in w.why_en for w in q4.common_wrong_answers)
    gemm = deck.card("q3-dense-gemm")
    for phrase in ("Python/scipy", "memory-bound", "XNNPACK", "DeepSparse", "call overhead"):
        assert phrase in gemm.answer_short_en, phrase
    assert "XNNPACK" in gemm.answer_short_zh and "访存受限" in gemm.answer_short_zh


def test_cards_of_the_cnn_training_time_and_one_shot_notebooks(deck):
    """Issues 9-11: each method the notebooks 10-12 teach has a card, with follow-ups and wrong answers."""
    expected = {"cnn": ("DepGraph", "BatchNorm", "residual", "MACs", "latency", "ONNX"),
                "training_time": ("rewind", "budget confound", "SNIP", "GraSP", "SynFlow", "layer collapse", "shuffle",
                                  "SET", "RigL", "ERK", "wall-clock", "Movement"),
                "one_shot": ("OBD", "OBS", "SparseGPT", "Wanda", "outliers", "2:4", "sparse tensor cores", "heads")}
    for topic, words in expected.items():
        cards = deck.select(topic)
        assert len(cards) >= 3, topic
        text = " ".join(card.question_en + card.answer_short_en + card.answer_long_en for card in cards)
        assert all(word.lower() in text.lower() for word in words), [w for w in words if w.lower() not in text.lower()]
        assert all(len(card.follow_ups) >= 2 and card.common_wrong_answers for card in cards), topic
    assert "q6-network-slimming" in [card.id for card in deck.select("criteria")]


def test_topic_selection(deck):
    ex8 = deck.select("exercise8")
    assert ex8 and all(card.topic == "exercise8" for card in ex8)
    with pytest.raises(ValueError, match="topic='nope'"):
        deck.select("nope")
    with pytest.raises(KeyError, match="no card with id"):
        deck.card("nope")
    with pytest.raises(ValueError, match="lang='fr'"):
        deck.card("q1-purpose").text("question", "fr")


@pytest.mark.parametrize("break_it, message", [
    (lambda d: d["cards"][0].pop("question_zh"),
     r"card #0 \('q1-purpose'\) is missing the field\(s\) \['question_zh'\]"),
    (lambda d: d["cards"][1].update(answer_short_en="  "), "answer_short_en must be a non-empty string"),
    (lambda d: d["cards"][1].update(answer_long_zh=""), "answer_long_zh must be a non-empty string"),
    (lambda d: d["cards"][2].update(follow_ups="one"), "follow_ups must be a non-empty list"),
    (lambda d: d["cards"][2].update(follow_ups=[]), "follow_ups must be a non-empty list"),
    (lambda d: d["cards"][2]["follow_ups"][0].pop("answer_zh"), r"follow_ups\[0\] must have exactly the keys"),
    (lambda d: d["cards"][2]["common_wrong_answers"][0].update(why_en=""), r"common_wrong_answers\[0\].why_en"),
    (lambda d: d["cards"][0]["interview"].update(key_points=[{"zh": "一", "en": "one"}]), "must have 3 to 6"),
    (lambda d: d["cards"][0]["interview"].update(spoken_en=""), "interview.spoken_en must be a non-empty"),
    (lambda d: d["cards"][3].update(topic="astrology"), "topic 'astrology' is not declared"),
    (lambda d: d["cards"][4].update(id=d["cards"][0]["id"]), "appears more than once"),
    (lambda d: d["cards"][5].update(extra=1), r"unknown field\(s\) \['extra'\]"),
    (lambda d: d.update(cards=[]), "no cards"),
    (lambda d: d.update(version=1), "this program reads version 2"),
])
def test_broken_decks_are_refused_with_a_clear_message(raw_deck, break_it, message):
    break_it(raw_deck)
    with pytest.raises(ValueError, match=message):
        parse_deck(raw_deck)


def test_invalid_json_deck_file(tmp_path):
    bad = tmp_path / "deck.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_deck(bad)


# ------------------------------------------------------------------ FSRS scheduling
def test_ratings_order_the_next_review():
    state = ReviewState()
    dues = {result: ReviewState().review("x", result, T0) for result in ("again", "hard", "good", "easy")}
    assert dues["again"] < dues["hard"] < dues["good"] < dues["easy"]
    first = state.review("x", "good", T0)
    second = state.review("x", "good", first)  # reviewed when due: the interval grows
    third = state.review("x", "good", second)
    assert second - first < third - second
    assert state.review("y", "good", T0) == dues["good"]  # no fuzz: same reviews, same schedule
    with pytest.raises(ValueError, match="result='maybe'"):
        state.review("x", "maybe", T0)
    with pytest.raises(TypeError, match="timezone-aware"):
        state.review("x", "good", datetime(2026, 1, 1))


def test_schedule_due_first_then_new_then_later():
    ids = [f"c{i}" for i in range(8)]
    state = ReviewState()
    state.review("c0", "easy", T0)  # due in days
    state.review("c1", "again", T0)  # due in a minute
    state.review("c2", "again", T0 - timedelta(hours=1))  # overdue longest
    now = T0 + timedelta(minutes=5)
    order = schedule(ids, state, n=8, now=now, seed=3)
    assert order[:2] == ["c2", "c1"] and order[-1] == "c0"
    assert sorted(order[2:7]) == [f"c{i}" for i in range(3, 8)]
    assert order == schedule(ids, state, n=8, now=now, seed=3)
    assert order[2:7] != schedule(ids, state, n=8, now=now, seed=4)[2:7]
    assert len(schedule(ids, state, n=3, now=now)) == 3
    with pytest.raises(ValueError, match="n=0 must be >= 1"):
        schedule(ids, state, n=0, now=now)


# ------------------------------------------------------------------ progress on disk
def test_progress_round_trip_is_atomic(tmp_path):
    path = tmp_path / "sub" / "progress.json"
    state = ReviewState(session=4)
    state.review("q1-purpose", "good", T0)
    save_progress(state, path)
    loaded, message = load_progress(path)
    assert message is None and loaded.to_dict() == state.to_dict()
    assert [p.name for p in path.parent.iterdir()] == ["progress.json"]  # no temporary file left


def test_a_leitner_progress_file_is_converted_without_losing_it(tmp_path, deck):
    path = tmp_path / "progress.json"
    boxes = {"q1-purpose": 1, "q2-principle": 3, "q3-taxonomy": 5}
    save_progress(LeitnerState(boxes=boxes, session=7), path)
    original = path.read_text(encoding="utf-8")
    state, message = load_progress(path, now=T0)
    assert "old Leitner boxes" in message and "converted to FSRS" in message and "3 cards kept" in message
    assert (tmp_path / "progress.json.leitner-v1").read_text(encoding="utf-8") == original
    assert state.session == 7 and sorted(state.cards) == sorted(boxes)
    assert state.is_due("q1-purpose", T0) and not state.is_due("q3-taxonomy", T0)
    assert state.due("q2-principle") < state.due("q3-taxonomy")  # a higher box waits longer
    assert state.migrated_from["boxes"] == boxes
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["version"] == 2 and saved["migrated_from"]["boxes"] == boxes
    again, message = load_progress(path)  # now a version-2 file: read as it is
    assert message is None and again.to_dict() == state.to_dict()
    order = schedule([card.id for card in deck.cards], state, n=len(deck), now=T0)
    assert order[0] == "q1-purpose" and order[-1] == "q3-taxonomy"


@pytest.mark.parametrize("content", ["{broken", '{"version": 1, "session": 0, "n_boxes": 5, "boxes": {"a": 99}}',
                                     "[1, 2]", '{"version": 7, "boxes": {}}', '{"name": "another program"}',
                                     '{"version": 2, "scheduler": "fsrs", "session": 0, "cards": {"a": {"x": 1}}}'])
def test_corrupt_or_foreign_progress_is_kept_aside_and_replaced(tmp_path, content):
    path = tmp_path / "progress.json"
    path.write_text(content, encoding="utf-8")
    state, message = load_progress(path)
    assert state.cards == {} and state.session == 0
    backups = list(tmp_path.glob("progress.json.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == content
    assert "could not be read as quiz progress" in message and str(backups[0]) in message
    assert not path.exists()


# ------------------------------------------------------------------ the drill session and terminal drill
def test_session_marks_cards_and_counts_itself_once(deck):
    state, clock = ReviewState(), Clock()
    session = DrillSession(deck, state, n=3, topic="exercise9", seed=0, clock=clock)
    assert [card.topic for card in session.queue] == ["exercise9"] * 3
    first = session.current
    assert session.reveal() is first and session.revealed
    assert session.mark("known") > clock.now and state.seen(first.id)
    assert session.mark("again") < state.due(first.id)
    with pytest.raises(ValueError, match="result='maybe'"):
        session.mark("maybe")
    session.finish()
    session.finish()
    assert state.session == 1
    assert session.summary().startswith("1 known, 1 again or hard, 1 skipped.")
    assert f"{len(deck) - 2} new" in session.summary()


def test_text_follows_the_language(deck):
    card = deck.card("q2-principle")
    assert question_text(card, "zh") == card.question_zh
    assert question_text(card, "both") == f"{card.question_zh}\n{card.question_en}"
    zh = answer_text(card, "zh")
    assert card.answer_short_en not in zh and card.answer_short_zh in zh and card.answer_long_zh in zh
    assert card.follow_ups[0].answer_zh in zh and card.common_wrong_answers[0].why_zh in zh
    assert "In depth" in answer_text(card, "en") and "详解" not in answer_text(card, "en")
    spoken = interview_sections(card, "zh")
    assert spoken[0][1] == card.interview.spoken_zh and len(spoken[1][1]) == len(card.interview.key_points)
    with pytest.raises(ValueError, match="has no interview answer"):
        interview_sections(deck.card("q2-zeros-not-savings"))
    with pytest.raises(ValueError, match="lang='fr'"):
        question_text(card, "fr")


def run_quiz(args, keys, clock=None):
    out = io.StringIO()
    code = main(args, stdin=io.StringIO(keys), stdout=out, clock=clock)
    return code, out.getvalue()


def test_progress_survives_between_runs(tmp_path):
    path = tmp_path / "progress.json"
    code, text = run_quiz(["--n", "2", "--seed", "0", "--progress-file", str(path)], "\nk\nk\n")
    assert code == 0 and "2 known, 0 again" in text and "next review" in text
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["session"] == 1 and len(saved["cards"]) == 2
    code, text = run_quiz(["--n", "1", "--seed", "0", "--progress-file", str(path)], "a\n")
    saved_again = json.loads(path.read_text(encoding="utf-8"))
    assert saved_again["session"] == 2 and len(saved_again["cards"]) == 3
    assert f"{len(load_deck()) - 3} new" in text


def test_quit_and_end_of_input_keep_what_was_marked(tmp_path):
    path = tmp_path / "progress.json"
    code, text = run_quiz(["--n", "5", "--progress-file", str(path)], "k\nq\n")
    assert code == 0 and "1 known, 0 again or hard, 4 skipped" in text
    code, text = run_quiz(["--n", "5", "--progress-file", str(path)], "\n")  # reveal, then input ends
    assert code == 0 and "0 known, 0 again or hard, 5 skipped" in text
    assert json.loads(path.read_text(encoding="utf-8"))["session"] == 1


def test_unknown_keys_are_explained_not_fatal(tmp_path):
    code, text = run_quiz(["--n", "1", "--progress-file", str(tmp_path / "p.json")], "x\n\nz\nk\n")
    assert code == 0 and "Unknown key 'x'" in text and "Unknown key 'z'" in text and "1 known" in text


def test_corrupt_progress_file_gives_a_message_not_a_crash(tmp_path):
    path = tmp_path / "progress.json"
    path.write_text("\x00\x01 not json", encoding="utf-8")
    code, text = run_quiz(["--n", "1", "--progress-file", str(path)], "k\n")
    assert code == 0 and "could not be read" in text and "starting with fresh progress" in text
    assert len(list(tmp_path.glob("progress.json.corrupt-*"))) == 1
    assert json.loads(path.read_text(encoding="utf-8"))["session"] == 1


def test_reset_and_topic_and_language(tmp_path, deck):
    path = tmp_path / "progress.json"
    state = ReviewState(session=9)
    state.review("q1-purpose", "easy", T0)
    save_progress(state, path)
    code, text = run_quiz(["--reset", "--n", "40", "--topic", "exercise8", "--lang", "zh",
                           "--progress-file", str(path)], "")
    assert code == 0 and "Progress reset" in text
    assert f"{len(deck.select('exercise8'))} cards" in text
    assert any(card.question_zh in text for card in deck.select("exercise8"))
    assert "Does `np.relu" not in text
    assert json.loads(path.read_text(encoding="utf-8")) == ReviewState().to_dict()


def test_bad_options(tmp_path, capsys):
    progress = ["--progress-file", str(tmp_path / "p.json")]
    assert main(["--n", "0", *progress], stdin=io.StringIO("")) == 2
    assert "--n 0 must be at least 1" in capsys.readouterr().err
    assert main(["--time", "60", *progress], stdin=io.StringIO("")) == 2
    assert "--time 60 needs --mode interview" in capsys.readouterr().err
    assert main(["--mode", "interview", "--time", "0", *progress], stdin=io.StringIO("")) == 2
    assert main(["--mode", "interview", "--topic", "exercise8", *progress], stdin=io.StringIO("")) == 2
    with pytest.raises(SystemExit):
        main(["--topic", "astrology"])


def test_command_line_with_piped_input(tmp_path):
    path = tmp_path / "progress.json"
    result = subprocess.run([sys.executable, "-m", "adaprune_edu", "quiz", "--n", "2", "--lang", "en",
                             "--progress-file", str(path)], input="\nk\na\n", capture_output=True,
                            text=True, encoding="utf-8", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "1 known, 1 again" in result.stdout
    assert json.loads(path.read_text(encoding="utf-8"))["session"] == 1


def test_unusable_progress_path_is_reported_not_a_traceback(tmp_path, capsys):
    folder = tmp_path / "progress.json"
    folder.mkdir()  # a folder where the file should be
    assert main(["--n", "1", "--progress-file", str(folder)], stdin=io.StringIO(""), stdout=io.StringIO()) == 1
    assert "cannot use the progress file" in capsys.readouterr().err
    assert folder.is_dir()  # nothing was moved or deleted


# ------------------------------------------------------------------ the mock interview
@pytest.mark.parametrize("covered, total, rating", [(0, 5, "again"), (1, 3, "hard"), (2, 3, "good"), (3, 5, "hard"),
                                                    (4, 5, "good"), (5, 5, "easy")])
def test_rating_for_key_points(covered, total, rating):
    assert rating_for(covered, total) == rating


def test_parse_ticks():
    assert parse_ticks("1 3", 5) == [0, 2] and parse_ticks("3,1，3", 5) == [0, 2]
    assert parse_ticks("a", 4) == [0, 1, 2, 3] and parse_ticks("", 4) == []
    assert parse_ticks("6", 5) is None and parse_ticks("one", 5) is None and parse_ticks("0", 5) is None


def test_interview_session_rounds_and_report(deck, tmp_path):
    state, clock = ReviewState(), Clock()
    session = InterviewSession(deck, state, n=2, lang="zh", time_limit=60, seed=0, clock=clock)
    assert all(card.interview for card in session.queue) and len(session.queue) == 2
    with pytest.raises(RuntimeError, match="call ask"):
        session.answer("", 1.0)
    first = session.ask()
    session.answer("", 42.0)
    points = len(first.interview.key_points)
    assert session.tick(range(points)) == "easy" and state.seen(first.id)
    assert session.follow_up() in first.follow_ups
    with pytest.raises(RuntimeError, match="finish the current round"):
        session.ask()
    session.follow_up_result(True, "我会先……")
    second = session.ask()
    session.answer("不知道", 75.0)
    assert session.tick([]) == "again"
    session.follow_up_result(False)
    assert session.done
    report = session.report()
    assert report["questions"] == 2 and report["key_points_covered"] == points
    assert report["follow_ups_answered"] == 1 and report["weakest_topics"][0] == second.topic
    assert report["missed_key_points"][second.id] == list(range(len(second.interview.key_points)))
    text = session.report_text()
    assert "面试小结" in text and "最需要加强的主题" in text and second.interview.key_points[0].zh in text
    path = save_report(session, tmp_path / "progress.json")
    assert path.parent == tmp_path and path.read_text(encoding="utf-8").startswith("面试小结")
    assert json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["questions"] == 2
    with pytest.raises(ValueError, match="time_limit=0.0 must be > 0"):
        InterviewSession(deck, state, time_limit=0)


def test_terminal_mock_interview_in_chinese(tmp_path, deck):
    path = tmp_path / "progress.json"
    keys = "\n1 2\n\ny\n我会删掉通道\nx\na\n没想好\nn\n"
    code, text = run_quiz(["--mode", "interview", "--n", "2", "--seed", "0", "--time", "60",
                           "--progress-file", str(path)], keys, clock=Clock())
    assert code == 0, text
    assert "模拟面试：2 道题" in text and "限时 60 秒" in text and "参考答案" in text and "要点清单" in text
    assert "没看懂 'x'" in text and "讲到了 2/" in text and "追问：" in text
    asked = [card for card in deck.interview_cards() if card.question_zh in text]
    assert len(asked) == 2 and all(card.interview.spoken_zh in text for card in asked)
    assert "面试小结" in text and "追问答上 1/2" in text
    reports = list(tmp_path.glob("interview-*.txt"))
    assert len(reports) == 1 and "报告已保存到" in text and str(reports[0]) in text
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["session"] == 1 and sorted(saved["cards"]) == sorted(card.id for card in asked)


def test_terminal_interview_quits_cleanly_and_in_english(tmp_path):
    code, text = run_quiz(["--mode", "interview", "--lang", "en", "--progress-file", str(tmp_path / "p.json")],
                          "q\n")
    assert code == 0 and "Mock interview: 3 questions" in text and "0 questions" in text


def test_mock_interview_in_a_pseudo_terminal_shows_the_countdown(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    path = tmp_path / "progress.json"
    child = pexpect.spawn(sys.executable, ["-m", "adaprune_edu", "quiz", "--mode", "interview", "--lang", "zh",
                                           "--n", "1", "--seed", "0", "--time", "3", "--width", "80",
                                           "--progress-file", str(path)],
                          encoding="utf-8", timeout=30, dimensions=(40, 100),
                          env={"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8", "LANG": "C.UTF-8"})
    try:
        child.expect("模拟面试：1 道题")
        child.expect("限时 3 秒")
        child.expect("剩余 3 秒")
        child.expect("剩余 1 秒")  # the countdown is redrawn while we wait
        child.expect("时间到！")
        child.sendline("")
        child.expect("参考答案")
        child.expect("要点清单")
        child.expect(r"\[1\] ")
        child.expect("都没讲到直接按 Enter > ")
        child.sendline("1")
        child.expect("讲到了 1/")
        child.expect("追问：")
        child.sendline("")
        child.expect("参考回答：")
        child.expect("答上来了吗")
        child.sendline("y")
        child.expect("面试小结")
        child.expect("追问答上 1/1")
        child.expect("报告已保存到")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert len(list(tmp_path.glob("interview-*.txt"))) == 1


# ------------------------------------------------------------------ wrapping for a terminal
@pytest.mark.parametrize("width", [24, 41, 78])
def test_wrapping_keeps_every_character_and_english_words_whole(deck, width):
    for card in deck.cards:
        text = answer_text(card, "both")
        wrapped = fill_lines(text, width)
        assert re.sub(r"\s", "", wrapped) == re.sub(r"\s", "", text), card.id  # nothing lost or added
        lines = wrapped.splitlines()
        words = [w for line in lines for w in line.split()]
        long_words = [w for w in text.split() if not CJK.search(w) and display_width(w) > width - 6]
        assert all(display_width(line) <= width or line.strip() in long_words or
                   any(w in long_words for w in line.split()) for line in lines), card.id
        english = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]*[A-Za-z]", text)]
        assert all(w in " ".join(words) for w in english), card.id  # no word split across lines
        assert not any(line.strip() and line.strip()[0] in CLOSING for line in lines), card.id


def test_wrapping_details():
    from adaprune_edu.quiz import deck as deck_module
    from adaprune_edu.quiz import wrap

    for module in (wrap, deck_module):  # the examples in the docstrings are right
        assert doctest.testmod(module).failed == 0, module.__name__
    assert display_width("剪枝 ok") == 7
    assert fill("剪枝（Pruning）的基本原理", 12) == "剪枝\n（Pruning）\n的基本原理"  # "（" does not end a line
    assert fill("  - one two three", 12, "    ") == "  - one two\n    three"
    with pytest.raises(ValueError, match="width=4 is too narrow"):
        fill("text", 4, "    ")


def test_terminal_wraps_to_the_width_asked_for(tmp_path, deck):
    args = ["--n", "1", "--seed", "0", "--topic", "adaptive", "--progress-file", str(tmp_path / "p.json")]
    code, text = run_quiz(args + ["--width", "40"], "\nk\n")
    shown = [line for line in text.splitlines() if " > " not in line and not line.startswith("Progress saved")]
    assert code == 0 and "1 card." in text and max(display_width(line) for line in shown) <= 40
    code, unwrapped = run_quiz(args + ["--progress-file", str(tmp_path / "q.json")], "\nk\n")
    long_answer = deck.select("adaptive")
    assert any(card.answer_long_en in unwrapped for card in long_answer)  # piped output is not wrapped
    assert main(args + ["--width", "5"], stdin=io.StringIO(""), stdout=io.StringIO()) == 2


# ------------------------------------------------------------------ Anki export
def read_apkg(path, folder):
    import sqlite3
    import zipfile

    with zipfile.ZipFile(path) as archive:
        assert "collection.anki2" in archive.namelist()
        archive.extract("collection.anki2", folder)
    with sqlite3.connect(folder / "collection.anki2") as db:
        notes = db.execute("select guid, mid, tags, flds from notes order by sfld").fetchall()
        models = json.loads(db.execute("select models from col").fetchone()[0])
        decks = json.loads(db.execute("select decks from col").fetchone()[0])
        cards = db.execute("select nid, did from cards").fetchall()
    return notes, models, decks, cards


def test_anki_package_has_one_bilingual_note_per_card_with_stable_ids(tmp_path, deck):
    from adaprune_edu.quiz.anki import DECK_ID, FIELDS, MODEL_ID, export_anki, note_guid

    path, count = export_anki(tmp_path / "deck.apkg")
    assert count == len(deck)
    notes, models, decks, cards = read_apkg(path, tmp_path / "a")
    assert len(notes) == len(deck) and len(cards) == len(deck)
    assert str(MODEL_ID) in models and [f["name"] for f in models[str(MODEL_ID)]["flds"]] == list(FIELDS)
    assert str(DECK_ID) in decks and {did for _, did in cards} == {DECK_ID}
    by_id = {}
    for guid, mid, tags, flds in notes:
        fields = dict(zip(FIELDS, flds.split("\x1f")))
        assert mid == MODEL_ID and len(flds.split("\x1f")) == len(FIELDS)
        by_id[fields["CardId"]] = (guid, tags, fields)
    assert set(by_id) == {card.id for card in deck.cards}
    for card in deck.cards:
        guid, tags, fields = by_id[card.id]
        assert guid == note_guid(card.id)
        assert f"topic::{card.topic}" in tags.split()
        assert card.question_zh in fields["Question"] and card.question_en.split("'")[0] in fields["Question"]
        assert card.answer_short_zh[:20] in fields["ShortAnswer"] and card.answer_long_zh[:20] in fields["LongAnswer"]
        assert card.follow_ups[0].answer_zh[:15] in fields["FollowUps"]
        assert card.common_wrong_answers[0].why_zh[:15] in fields["WrongAnswers"]
        assert bool(fields["SpokenAnswer"]) == (card.interview is not None)
    again, _ = export_anki(tmp_path / "again.apkg")  # a second export: same note ids, so Anki updates
    assert sorted(n[0] for n in read_apkg(again, tmp_path / "b")[0]) == sorted(n[0] for n in notes)
    with pytest.raises(ValueError, match="must end in .apkg"):
        export_anki(tmp_path / "deck.zip")


def test_export_anki_from_the_command_line(tmp_path, capsys):
    code, text = run_quiz(["--export-anki", str(tmp_path / "剪枝.apkg")], "")
    assert code == 0 and f"Wrote {len(load_deck())} notes" in text
    assert (tmp_path / "剪枝.apkg").stat().st_size > 10_000
    assert main(["--export-anki", str(tmp_path / "x.txt")], stdin=io.StringIO(""), stdout=io.StringIO()) == 1
    assert "must end in .apkg" in capsys.readouterr().err
