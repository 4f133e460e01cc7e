"""The interview deck, Leitner boxes, progress files and the terminal drill."""
import doctest
import io
import json
import re
import subprocess
import sys

import pytest

from adaprune_edu.quiz import DrillSession, LeitnerState, load_deck, load_progress, save_progress, schedule
from adaprune_edu.quiz.deck import DECK_PATH, parse_deck
from adaprune_edu.quiz.session import answer_text, question_text
from adaprune_edu.quiz.terminal import main
from adaprune_edu.quiz.wrap import CLOSING, display_width, fill, fill_lines

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def deck():
    return load_deck()


@pytest.fixture
def raw_deck():
    return json.loads(DECK_PATH.read_text(encoding="utf-8"))


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


def test_every_card_is_bilingual(deck):
    for card in deck.cards:
        assert CJK.search(card.question_zh) and CJK.search(card.answer_short_zh), card.id
        assert not CJK.search(card.question_en + card.answer_short_en + card.answer_long_en), card.id
        assert len(card.answer_long_en) > len(card.answer_short_en), card.id


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
    assert any("always preserves performance" in wrong for wrong in deck.card("q4-advantages").common_wrong_answers)
    assert "IndexError" in deck.card("ex9-index-error").answer_short_en
    assert "backwards" in deck.card("ex9-logic-backwards").answer_short_en


def test_topic_selection(deck):
    ex8 = deck.select("exercise8")
    assert ex8 and all(card.topic == "exercise8" for card in ex8)
    with pytest.raises(ValueError, match="topic='nope'"):
        deck.select("nope")
    with pytest.raises(KeyError, match="no card with id"):
        deck.card("nope")


@pytest.mark.parametrize("break_it, message", [
    (lambda d: d["cards"][0].pop("question_zh"),
     r"card #0 \('q1-purpose'\) is missing the field\(s\) \['question_zh'\]"),
    (lambda d: d["cards"][1].update(answer_short_en="  "), "answer_short_en must be a non-empty string"),
    (lambda d: d["cards"][2].update(follow_ups="one"), "follow_ups must be a list"),
    (lambda d: d["cards"][3].update(topic="astrology"), "topic 'astrology' is not declared"),
    (lambda d: d["cards"][4].update(id=d["cards"][0]["id"]), "appears more than once"),
    (lambda d: d["cards"][5].update(extra=1), r"unknown field\(s\) \['extra'\]"),
    (lambda d: d.update(cards=[]), "no cards"),
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


# ------------------------------------------------------------------ Leitner boxes
def test_known_moves_up_one_box_and_again_goes_back_to_one():
    state = LeitnerState(n_boxes=3)
    assert state.box("x") == 1
    assert [state.known("x") for _ in range(4)] == [2, 3, 3, 3]
    assert state.again("x") == 1 and state.box("x") == 1


def test_due_sessions_double_with_each_box():
    state = LeitnerState(boxes={"a": 1, "b": 2, "c": 3})
    due = {cid: [s for s in range(8) if state.is_due(cid, s)] for cid in "abc"}
    assert due == {"a": list(range(8)), "b": [0, 2, 4, 6], "c": [0, 4]}


def test_schedule_is_deterministic_due_and_weak_cards_first():
    ids = [f"c{i}" for i in range(12)]
    state = LeitnerState(boxes={"c0": 2, "c1": 3, "c2": 2}, session=1)  # c0..c2 not due in session 1
    order = schedule(ids, state, n=12, seed=3)
    assert order == schedule(ids, state, n=12, seed=3)
    assert order != schedule(ids, state, n=12, seed=4)
    assert sorted(order[:9]) == sorted(ids[3:])  # the nine due box-1 cards come first
    assert order[9:] == ["c0", "c2", "c1"] or order[9:] == ["c2", "c0", "c1"]  # then lowest box first
    assert len(schedule(ids, state, n=5, seed=0)) == 5
    with pytest.raises(ValueError, match="n=0 must be >= 1"):
        schedule(ids, state, n=0)


def test_state_rejects_impossible_boxes():
    with pytest.raises(ValueError, match=r"boxes\['x'\]=7 must be <= 5"):
        LeitnerState(boxes={"x": 7})


# ------------------------------------------------------------------ progress on disk
def test_progress_round_trip_is_atomic(tmp_path):
    path = tmp_path / "sub" / "progress.json"
    state = LeitnerState(boxes={"q1-purpose": 3}, session=4)
    save_progress(state, path)
    loaded, message = load_progress(path)
    assert message is None and loaded.to_dict() == state.to_dict()
    assert [p.name for p in path.parent.iterdir()] == ["progress.json"]  # no temporary file left


@pytest.mark.parametrize("content", ["{broken", '{"version": 1, "session": 0, "n_boxes": 5, "boxes": {"a": 99}}',
                                     "[1, 2]", '{"version": 7, "boxes": {}}'])
def test_corrupt_progress_is_backed_up_and_replaced(tmp_path, content):
    path = tmp_path / "progress.json"
    path.write_text(content, encoding="utf-8")
    state, message = load_progress(path)
    assert state.boxes == {} and state.session == 0
    backups = list(tmp_path.glob("progress.json.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == content
    assert "could not be read" in message and str(backups[0]) in message
    assert not path.exists()


# ------------------------------------------------------------------ the session and the terminal drill
def test_session_marks_cards_and_counts_itself_once(deck):
    state = LeitnerState()
    session = DrillSession(deck, state, n=3, topic="exercise9", seed=0)
    assert [card.topic for card in session.queue] == ["exercise9"] * 3
    first = session.current
    assert session.reveal() is first and session.revealed
    assert session.mark("known") == 2 and state.box(first.id) == 2
    assert session.mark("again") == 1
    with pytest.raises(ValueError, match="result='maybe'"):
        session.mark("maybe")
    session.finish()
    session.finish()
    assert state.session == 1
    assert session.summary().startswith("1 known, 1 again, 1 skipped.")


def test_text_follows_the_language(deck):
    card = deck.card("q2-principle")
    assert question_text(card, "zh") == card.question_zh
    assert question_text(card, "both") == f"{card.question_zh}\n{card.question_en}"
    assert card.answer_short_en not in answer_text(card, "zh") and card.answer_short_zh in answer_text(card, "zh")
    with pytest.raises(ValueError, match="lang='fr'"):
        question_text(card, "fr")


def run_quiz(args, keys):
    out = io.StringIO()
    code = main(args, stdin=io.StringIO(keys), stdout=out)
    return code, out.getvalue()


def test_progress_survives_between_runs(tmp_path, deck):
    path = tmp_path / "progress.json"
    code, text = run_quiz(["--n", "2", "--seed", "0", "--progress-file", str(path)], "\nk\nk\n")
    assert code == 0 and "2 known, 0 again" in text
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["session"] == 1 and sorted(saved["boxes"].values()) == [2, 2]
    code, text = run_quiz(["--n", "1", "--seed", "0", "--progress-file", str(path)], "a\n")
    saved_again = json.loads(path.read_text(encoding="utf-8"))
    assert saved_again["session"] == 2 and sorted(saved_again["boxes"].values()) == [1, 2, 2]
    assert "box 2: 2" in text


def test_quit_and_end_of_input_keep_what_was_marked(tmp_path):
    path = tmp_path / "progress.json"
    code, text = run_quiz(["--n", "5", "--progress-file", str(path)], "k\nq\n")
    assert code == 0 and "1 known, 0 again, 4 skipped" in text
    code, text = run_quiz(["--n", "5", "--progress-file", str(path)], "\n")  # reveal, then input ends
    assert code == 0 and "0 known, 0 again, 5 skipped" in text
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
    save_progress(LeitnerState(boxes={"q1-purpose": 4}, session=9), path)
    code, text = run_quiz(["--reset", "--n", "40", "--topic", "exercise8", "--lang", "zh",
                           "--progress-file", str(path)], "")
    assert code == 0 and "Progress reset" in text
    assert f"{len(deck.select('exercise8'))} cards" in text
    assert any(card.question_zh in text for card in deck.select("exercise8"))
    assert "Does `np.relu" not in text
    assert json.loads(path.read_text(encoding="utf-8")) == LeitnerState().to_dict()


def test_bad_options(tmp_path, capsys):
    assert main(["--n", "0", "--progress-file", str(tmp_path / "p.json")], stdin=io.StringIO("")) == 2
    assert "--n 0 must be at least 1" in capsys.readouterr().err
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
