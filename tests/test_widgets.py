"""The notebook widgets, driven without a browser: set control values, read what they show."""
import base64
import html
import json
from pathlib import Path

import numpy as np
import pytest

from adaprune_edu import MLP
from adaprune_edu.pruning import global_sparsity, layer_sparsities, neuron_sparsity, prune_to_sparsity
from adaprune_edu.quiz import LeitnerState, load_deck, save_progress
from adaprune_edu.widgets import FlashCards, PruningExplorer, ReplayWidget
from adaprune_edu.widgets.app import main as explore_main
from adaprune_edu.widgets.app import voila_command
from adaprune_edu.widgets.explorer_logic import Settings, threshold_range, threshold_settings
from adaprune_edu.widgets.replay import check_history


@pytest.fixture(scope="module")
def trained(digits):
    return MLP(digits.default_layer_sizes(hidden=(64, 32)), seed=0).fit(digits.X_train, digits.y_train, epochs=15,
                                                                         progress=False)


@pytest.fixture(scope="module")
def explorer(trained, digits):
    return PruningExplorer(trained, digits, target=0.5, latency_repeats=1, curve_targets=(0.0, 0.5, 0.9))


def png(output_widget) -> bytes:
    (output,) = output_widget.outputs
    return base64.b64decode(output["data"]["image/png"])


# ------------------------------------------------------------------ the explorer
def test_explorer_starts_with_numbers_readout_and_one_image(explorer, trained, digits):
    assert explorer.error is None
    assert explorer.numbers["sparsity"] == pytest.approx(0.5, abs=1e-4)
    assert "validation accuracy" in explorer.readout.value and "CSR" in explorer.readout.value
    assert png(explorer.plot).startswith(b"\x89PNG")
    assert explorer.baseline == trained.score(digits.X_val, digits.y_val)
    assert trained.masks[0]["W"] is None  # the model handed in is never pruned


def test_moving_the_slider_prunes_more_and_refreshes_everything(explorer, trained, digits):
    explorer.scope.value, explorer.criterion.value, explorer.granularity.value = "global", "magnitude", "unstructured"
    explorer.target.value = 0.5
    before = dict(explorer.numbers), explorer.readout.value, png(explorer.plot)
    explorer.target.value = 0.9
    after = explorer.numbers
    assert after["sparsity"] == pytest.approx(0.9, abs=1e-4)
    assert after["nonzeros"] < before[0]["nonzeros"] and after["bytes_csr"] < before[0]["bytes_csr"]
    assert after["params"] == before[0]["params"] and after["bytes_dense"] == before[0]["bytes_dense"]
    assert after["flops_dense"] == before[0]["flops_dense"] and after["flops_nonzero"] < before[0]["flops_nonzero"]
    assert explorer.readout.value != before[1] and png(explorer.plot) != before[2]
    assert "90.0%" in explorer.readout.value
    # the numbers are the pruning library's, not a second implementation's
    reference = prune_to_sparsity(trained.copy(), 0.9)
    assert after["accuracy"] == reference.score(digits.X_val, digits.y_val)
    assert after["layer_sparsity"] == layer_sparsities(reference)


def test_magnitude_cut_is_a_clean_threshold_and_random_is_not(explorer):
    explorer.scope.value, explorer.granularity.value = "global", "unstructured"
    explorer.criterion.value = "magnitude"
    explorer.target.value = 0.7
    kept, pruned = explorer.numbers["threshold"]
    assert kept > pruned
    assert f"smallest kept |w| = {kept:.5f}" in explorer.readout.value
    explorer.criterion.value = "random"
    kept, pruned = explorer.numbers["threshold"]
    assert kept < pruned


def test_structured_pruning_shows_the_surgery_savings(explorer):
    explorer.scope.value, explorer.criterion.value = "global", "magnitude"
    explorer.granularity.value = "structured"
    explorer.target.value = 0.5
    n = explorer.numbers
    assert n["neuron_sparsity"] == pytest.approx(0.5, abs=0.02)
    assert sum(n["shrunk_layer_sizes"][1:-1]) == pytest.approx(0.5 * (64 + 32), abs=2)
    assert n["shrunk_flops"] < n["flops_dense"] and n["shrunk_params"] < n["params"]
    assert explorer.layer_targets[-1].disabled is True  # output units are never removed


def test_per_layer_sliders_set_each_layer(explorer):
    explorer.granularity.value, explorer.criterion.value = "unstructured", "magnitude"
    explorer.scope.value = "per-layer"
    assert explorer.target.disabled and not any(s.disabled for s in explorer.layer_targets)
    for slider, value in zip(explorer.layer_targets, (0.2, 0.8, 0.4)):
        slider.value = value
    assert explorer.numbers["layer_sparsity"] == pytest.approx([0.2, 0.8, 0.4], abs=1e-3)
    explorer.scope.value = "global"


def cut_is_clean(explorer, layer, threshold):
    """Every pruned |w| of ``layer`` is below ``threshold`` and every kept one at or above it."""
    W = np.abs(explorer.dense_state["params"][layer]["W"])
    kept = explorer.model.masks[layer]["W"] != 0
    return bool(np.all(W[~kept] < threshold) and np.all(W[kept] >= threshold))


def test_threshold_slider_cuts_every_layer_at_that_magnitude(explorer, trained, digits):
    explorer.scope.value, explorer.criterion.value, explorer.granularity.value = "global", "magnitude", "unstructured"
    explorer.cut_by.value = "threshold"
    visible = [s for s in (explorer.target, explorer.magnitude_threshold, *explorer.layer_targets,
                           *explorer.layer_thresholds) if s.layout.display != "none"]
    assert visible == [explorer.magnitude_threshold] and not explorer.magnitude_threshold.disabled
    explorer.magnitude_threshold.value = 0.05
    assert explorer.error is None and all(cut_is_clean(explorer, layer, 0.05) for layer in range(3))
    weights = [np.abs(p["W"]) for p in trained.params]
    below = sum(int(np.sum(W < 0.05)) for W in weights) / sum(W.size for W in weights)
    assert explorer.numbers["sparsity"] == pytest.approx(below, abs=1e-12) and 0.05 < below < 0.95
    assert "cut at |w| < 0.0500" in html.unescape(explorer.readout.value)
    # the same pruning as the sparsity slider at that fraction
    reference = prune_to_sparsity(trained.copy(), below)
    assert explorer.numbers["accuracy"] == reference.score(digits.X_val, digits.y_val)
    readout = explorer.readout.value
    explorer.magnitude_threshold.value = 0.1
    assert explorer.numbers["sparsity"] > below and explorer.readout.value != readout
    explorer.cut_by.value = "sparsity"


def test_per_layer_thresholds_and_what_a_threshold_cannot_do(explorer):
    explorer.scope.value, explorer.criterion.value, explorer.granularity.value = "global", "magnitude", "unstructured"
    explorer.cut_by.value = "threshold"
    explorer.scope.value = "per-layer"
    assert all(s.layout.display != "none" for s in explorer.layer_thresholds)
    assert explorer.magnitude_threshold.layout.display == "none" and explorer.target.layout.display == "none"
    cuts = (0.02, 0.08, 0.15)
    for slider, value in zip(explorer.layer_thresholds, cuts):
        slider.value = value
    assert all(cut_is_clean(explorer, layer, cut) for layer, cut in enumerate(cuts))
    explorer.show_layer.value = 2
    assert explorer.numbers["cut"] == 0.15 and "layer 3: cut at |w| < 0.1500" in html.unescape(explorer.readout.value)
    explorer.show_layer.value = 0
    readout = explorer.readout.value
    explorer.criterion.value = "taylor"  # a |w| cut is magnitude pruning: explained, not crashed
    assert "needs criterion 'magnitude'" in explorer.error and "'taylor'" in html.unescape(explorer.status.value)
    assert explorer.readout.value == readout
    explorer.criterion.value, explorer.scope.value, explorer.cut_by.value = "magnitude", "global", "sparsity"
    assert explorer.error is None and explorer.target.layout.display != "none"


def test_threshold_settings_and_range_check_their_input():
    W = [np.array([[0.1, -0.2], [0.3, 0.05]]), np.array([[0.5], [-0.01]])]
    assert threshold_settings(W, 0.15) == Settings("magnitude", "unstructured", "global", 3 / 6)
    assert threshold_settings(W, [0.15, 0.6]).layer_targets == (0.5, 1.0)
    top, per_layer = threshold_range(W)
    assert top == pytest.approx(np.quantile([0.1, 0.2, 0.3, 0.05, 0.5, 0.01], 0.99)) and len(per_layer) == 2
    with pytest.raises(ValueError, match="threshold=-0.1 must be a number >= 0"):
        threshold_settings(W, -0.1)
    with pytest.raises(ValueError, match="thresholds has 3 values; the network has 2 dense layers"):
        threshold_settings(W, [0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match=r"thresholds\[1\]=nan"):
        threshold_settings(W, [0.1, float("nan")])


@pytest.mark.parametrize("criterion, granularity", [
    ("taylor", "unstructured"), ("gradient", "structured"), ("apoz", "structured"), ("activation", "hybrid"),
])
def test_data_driven_criteria_prune_to_the_target(explorer, criterion, granularity):
    explorer.scope.value, explorer.target.value = "global", 0.3
    explorer.granularity.value, explorer.criterion.value = granularity, criterion
    assert explorer.error is None and explorer.status.value == "", (criterion, granularity)
    measured = (neuron_sparsity if granularity == "structured" else global_sparsity)(explorer.model)
    assert measured == pytest.approx(0.3, abs=0.02)


def test_neuron_criteria_with_unstructured_pruning_explain_instead_of_failing(explorer):
    explorer.scope.value, explorer.granularity.value, explorer.criterion.value = "global", "structured", "apoz"
    readout = explorer.readout.value
    explorer.granularity.value = "unstructured"
    assert "scores whole neurons" in explorer.status.value and "scores whole neurons" in explorer.error
    assert explorer.readout.value == readout  # the last good state stays on screen
    explorer.criterion.value = "magnitude"
    assert explorer.error is None and explorer.status.value == ""


def test_tolerance_verdict_and_cache(explorer):
    explorer.scope.value, explorer.criterion.value, explorer.granularity.value = "global", "magnitude", "unstructured"
    explorer.target.value = 0.99
    explorer.tolerance.value = 0.0
    assert "outside the tolerance of 0 points" in explorer.readout.value
    explorer.tolerance.value = 20.0
    drop = 100 * (explorer.baseline - explorer.numbers["accuracy"])
    assert ("within" if drop <= 20 else "outside") + " the tolerance of 20 points" in explorer.readout.value
    explorer.target.value = 0.37
    cached = len(explorer._states)
    explorer.target.value = 0.99
    explorer.target.value = 0.37
    assert len(explorer._states) == cached  # both settings came from the cache
    assert explorer.last_update_seconds is not None and len(explorer.update_times) > 10


def test_explorer_rejects_bad_arguments(trained, digits):
    with pytest.raises(ValueError, match="criterion='size'"):
        PruningExplorer(trained, digits, criterion="size")
    with pytest.raises(ValueError, match="cut_by='weights'"):
        PruningExplorer(trained, digits, cut_by="weights")
    with pytest.raises(ValueError, match="target=1.5 must be <= 0.99"):
        PruningExplorer(trained, digits, target=1.5)
    with pytest.raises(TypeError, match="data=ndarray must be a Dataset"):
        PruningExplorer(trained, np.zeros((3, 64)))
    with pytest.raises(ValueError, match="X_val has 5 features"):
        PruningExplorer(trained, (digits.X_train, digits.y_train, np.zeros((4, 5)), np.zeros(4, dtype=int)))


# ------------------------------------------------------------------ the replay
def make_history():
    return [
        {"step": 0, "target": 0.0, "layer_sparsity": [0.0, 0.0, 0.0], "val_accuracy": 0.97, "action": "baseline"},
        {"step": 1, "target": 0.5, "layer_sparsity": [0.5, 0.55, 0.3], "val_accuracy": 0.965, "action": "accept"},
        {"step": 2, "target": 0.8, "layer_sparsity": [0.8, 0.85, 0.5], "val_accuracy": 0.93, "action": "rollback",
         "note": "drop 4.0 points"},
        {"step": 3, "target": 0.65, "layer_sparsity": [0.65, 0.7, 0.4], "val_accuracy": 0.96, "action": "accept"},
    ]


def test_replay_steps_through_the_history():
    replay = ReplayWidget(make_history())
    assert "baseline" in replay.readout.value and "1 of 4" in replay.readout.value
    first = png(replay.plot)
    replay.step.value = 2
    assert replay.record["action"] == "rollback"
    assert "rollback" in replay.readout.value and "80.0%" in replay.readout.value and "93.00%" in replay.readout.value
    assert "drop 4.0 points" in replay.readout.value and "accepted so far</b></td><td>1" in replay.readout.value
    assert png(replay.plot) != first
    replay.step.value = 3
    assert "accepted so far</b></td><td>2" in replay.readout.value
    assert replay.step.max == 3 and replay.play.max == 3


@pytest.mark.parametrize("edit, error, message", [
    (lambda h: h.clear(), ValueError, "history is empty"),
    (lambda h: h[1].pop("action"), ValueError, r"history\[1\] is missing \['action'\]"),
    (lambda h: h[2].update(val_accuracy=97.0), ValueError, r"history\[2\]\['val_accuracy'\]=97.0 must be"),
    (lambda h: h[0].update(layer_sparsity=[]), ValueError, "non-empty list"),
    (lambda h: h[3].update(step="3"), TypeError, "must be an int"),
    (lambda h: h.append([1, 2]), TypeError, r"history\[4\] must be a dict"),
])
def test_replay_rejects_malformed_history(edit, error, message):
    history = make_history()
    edit(history)
    with pytest.raises(error, match=message):
        check_history(history)
    with pytest.raises(TypeError, match="must be a list of dicts"):
        check_history({"step": 0})
    with pytest.raises(ValueError, match="interval=0"):
        ReplayWidget(make_history(), interval=0)


# ------------------------------------------------------------------ flash cards
def test_flash_cards_show_reveal_and_mark(tmp_path):
    path = tmp_path / "progress.json"
    cards = FlashCards(lang="both", n=2, seed=1, progress_file=path)
    first = cards.session.current
    assert first.question_zh in cards.question.value and first.question_en in cards.question.value
    assert cards.answer.value == "" and not cards.known_button.disabled
    cards.reveal_button.click()
    assert "Short answer" in cards.answer.value and cards.reveal_button.disabled
    cards.known_button.click()
    assert cards.state.seen(first.id) and "card 2 of 2" in cards.status.value
    second = cards.session.current
    cards.again_button.click()
    assert "Session complete" in cards.question.value and "1 known, 1 again or hard" in cards.answer.value
    assert cards.known_button.disabled
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert sorted(saved["cards"]) == sorted([first.id, second.id]) and saved["session"] == 1
    assert saved["cards"][first.id]["due"] > saved["cards"][second.id]["due"]  # "known" waits longer than "again"
    cards.next_session_button.click()  # neither card is due yet: new cards come first
    assert "card 1 of 2" in cards.status.value and not cards.known_button.disabled
    assert {first.id, second.id}.isdisjoint(card.id for card in cards.session.queue)
    assert not any(cards.state.seen(card.id) for card in cards.session.queue)
    again = FlashCards(n=2, progress_file=path)  # progress comes back
    assert again.state.due(first.id) == cards.state.due(first.id)


def test_flash_cards_language_topic_and_corrupt_progress(tmp_path):
    cards = FlashCards(lang="zh", n=3, topic="exercise9", seed=0)
    card = cards.session.current
    assert card.topic == "exercise9"
    assert card.question_zh in cards.question.value and card.question_en not in cards.question.value
    cards.lang.value = "en"
    assert card.question_en in cards.question.value and card.question_zh not in cards.question.value
    path = tmp_path / "p.json"
    path.write_text("{oops", encoding="utf-8")
    cards = FlashCards(n=1, progress_file=path)
    assert "could not be read" in cards.notice.value and list(tmp_path.glob("p.json.corrupt-*"))
    with pytest.raises(ValueError, match="topic='x'"):
        FlashCards(topic="x")
    with pytest.raises(ValueError, match="lang='de'"):
        FlashCards(lang="de")


def test_flash_cards_read_an_old_leitner_progress_file(tmp_path):
    deck = load_deck()
    path = tmp_path / "p.json"
    known = {card.id: 5 for card in deck.cards[1:]}  # everything but the first card is well known
    save_progress(LeitnerState(boxes=known, session=3), path)
    cards = FlashCards(n=1, seed=0, progress_file=path)
    assert "converted to FSRS" in cards.notice.value
    assert cards.session.current.id == deck.cards[0].id  # the only new card comes before the known ones


# ------------------------------------------------------------------ the app command
def test_explore_command_line(tmp_path, capsys):
    cmd = voila_command(tmp_path / "08_explorer.ipynb", port=9001)
    assert cmd[1:4] == ["-m", "voila", str(tmp_path / "08_explorer.ipynb")]
    assert "--port=9001" in cmd and "--Voila.ip=127.0.0.1" in cmd and "--no-browser" in cmd
    assert "--no-browser" not in voila_command("nb.ipynb", open_browser=True)
    with pytest.raises(SystemExit):
        explore_main(["--notebook", str(tmp_path / "missing.ipynb")])
    assert "does not exist" in capsys.readouterr().err


def test_replay_of_a_real_adaptive_run(trained, digits):
    adaptive = pytest.importorskip("adaprune_edu.pruning.adaptive")
    pruner = adaptive.AdaptivePruner(tolerance=0.02, max_epochs=8, final_epochs=2, finetune_epochs=1)
    pruner.fit(trained, digits.X_train, digits.y_train, digits.X_val, digits.y_val)
    replay = ReplayWidget(pruner.history_)
    assert replay.step.max == len(pruner.history_) - 1
    replay.step.value = replay.step.max
    last = pruner.history_[-1]
    assert last["action"] in replay.readout.value and f"{100 * last['val_accuracy']:.2f}%" in replay.readout.value


def test_structured_per_layer_targets_skip_the_output_layer(explorer):
    explorer.criterion.value, explorer.granularity.value = "magnitude", "structured"
    explorer.scope.value = "per-layer"
    explorer.layer_targets[0].value, explorer.layer_targets[1].value = 0.25, 0.5
    assert explorer.settings().layer_targets == (0.25, 0.5)
    assert explorer.numbers["shrunk_layer_sizes"] == [64, 48, 16, 10]
    explorer.granularity.value = "hybrid"  # one target only: explained, not crashed
    assert "per-layer sliders work with" in explorer.error
    explorer.scope.value, explorer.granularity.value = "global", "unstructured"
    assert explorer.error is None


def test_explore_main_runs_voila_on_the_notebook(tmp_path, monkeypatch, capsys):
    import nbformat

    notebook = tmp_path / "08_explorer.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# lesson"),
                                                   nbformat.v4.new_markdown_cell("## Worked answers")]), notebook)
    calls = []

    def call(cmd, cwd):  # Voila serves the classroom copy, written into a temporary folder
        served = nbformat.read(cmd[3], as_version=4)
        calls.append((cmd, [c.source for c in served.cells], Path(cmd[3]).parent == Path(cwd)))
        return 0

    monkeypatch.setattr("adaprune_edu.widgets.app.subprocess.call", call)
    assert explore_main(["--notebook", str(notebook), "--port", "9123"]) == 0
    (cmd, cells, in_cwd), = calls
    assert cmd[:3] == voila_command(notebook, port=9123)[:3] and cmd[4:] == voila_command(notebook, port=9123)[4:]
    assert Path(cmd[3]).name == notebook.name and cells == ["# lesson"] and in_cwd
    assert "http://127.0.0.1:9123/" in capsys.readouterr().out


def test_classroom_copy_leaves_out_the_worked_answers(tmp_path):
    import nbformat

    from adaprune_edu.widgets.app import DEFAULT_NOTEBOOK, classroom_copy

    page = nbformat.read(str(classroom_copy(DEFAULT_NOTEBOOK, tmp_path)), as_version=4)
    full = nbformat.read(str(DEFAULT_NOTEBOOK), as_version=4)
    assert 0 < len(page.cells) < len(full.cells)
    assert not any("## Worked answers" in c.source for c in page.cells)
    assert [c.source for c in page.cells] == [c.source for c in full.cells[:len(page.cells)]]
    assert any("PruningExplorer(" in c.source for c in page.cells)  # the explorer itself is still there
