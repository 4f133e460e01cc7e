"""The CNN channel explorer, driven without a browser: move the sliders, compare with direct library calls."""
import base64

import numpy as np
import pytest

from adaprune_edu import costs, load_dataset
from adaprune_edu.nn.presets import cnn
from adaprune_edu.pruning import group_scores, prune_to_sparsity, shrink
from adaprune_edu.widgets import ChannelExplorer
from adaprune_edu.widgets.channel_explorer import CHANNEL_CRITERIA, kept_channels


@pytest.fixture(scope="module")
def images():
    return load_dataset("digits", images=True, seed=0)


@pytest.fixture(scope="module")
def trained(images):
    return cnn(channels=(4, 8, 8), seed=0).fit(images.X_train, images.y_train, epochs=2, learning_rate=0.05,
                                               progress=False)


@pytest.fixture(scope="module")
def shared(trained, images):
    return ChannelExplorer(trained, images, latency_repeats=1, min_channels=2)


@pytest.fixture
def explorer(shared):
    """The module's explorer, back at its start: L1 filter norm, every channel kept."""
    shared.criterion.value = "L1 filter norm"
    for slider in shared.keep:
        slider.value = 1.0
    return shared


def direct(trained, images, kept, criterion="magnitude", n=1):
    """The same pruning as one library call: per-layer structured targets, scores of the dense model."""
    sizes = [4, 8, 8]
    scores = group_scores(trained, criterion, n=n)
    return prune_to_sparsity(trained.copy(), None, granularity="structured",
                             scope=[(s - k) / s for k, s in zip(kept, sizes)], scores=scores)


def png(explorer) -> bytes:
    (output,) = explorer.plot.outputs
    return base64.b64decode(output["data"]["image/png"])


def test_starts_dense_with_numbers_and_an_image(explorer, trained, images):
    n = explorer.numbers
    assert explorer.error is None and n["kept_channels"] == [4, 8, 8]
    assert n["accuracy"] == explorer.baseline == trained.score(images.X_val, images.y_val)
    assert n["macs"] == n["shrunk_macs"] == costs.macs_per_sample(trained, X=images.X_val)
    assert png(explorer).startswith(b"\x89PNG")
    assert "MACs per image" in explorer.readout.value and "after surgery" in explorer.readout.value


def test_each_slider_sets_its_layer_and_the_numbers_equal_a_direct_computation(explorer, trained, images):
    before = png(explorer)
    explorer.keep[1].value = 0.5
    assert explorer.numbers["kept_channels"] == [4, 4, 8]
    expected = direct(trained, images, [4, 4, 8])
    small = shrink(expected)
    n = explorer.numbers
    assert n["accuracy"] == expected.score(images.X_val, images.y_val)
    assert n["shrunk_layer_sizes"] == [1, 4, 4, 8, 10]
    assert n["shrunk_macs"] == costs.macs_per_sample(small, X=images.X_val) < n["macs"]
    assert n["shrunk_params"] == costs.count_params(small) < n["params"] == costs.count_params(trained)
    assert n["latency"] > 0 and n["shrunk_latency"] > 0
    assert f"{n['shrunk_macs']:,}" in explorer.readout.value and png(explorer) != before
    # fewer channels kept, fewer MACs: monotone in every slider
    macs = []
    for value in (1.0, 0.75, 0.5, 0.25):
        explorer.keep[2].value = value
        macs.append(explorer.numbers["shrunk_macs"])
    assert macs == sorted(macs, reverse=True) and len(set(macs)) == 4


def test_min_channels_is_respected(explorer):
    for slider in explorer.keep:
        slider.value = 0.0  # ipywidgets clips to the slider's minimum: min_channels / size
    assert explorer.numbers["kept_channels"] == [2, 2, 2]
    assert [s.min for s in explorer.keep] == [2 / 4, 2 / 8, 2 / 8]
    assert kept_channels([0.0, 0.01, 1.0], [4, 8, 8], min_channels=2) == [2, 2, 8]


@pytest.mark.parametrize("label", ["BN |gamma|", "random"])
def test_other_criteria_equal_the_library(explorer, trained, images, label):
    criterion, n = CHANNEL_CRITERIA[label]
    explorer.criterion.value = label
    explorer.keep[0].value = 0.5
    expected = direct(trained, images, [2, 8, 8], criterion=criterion, n=n)
    assert explorer.numbers["accuracy"] == expected.score(images.X_val, images.y_val)
    assert [np.array_equal(a["W"], b["W"]) for a, b in zip(explorer.model.params, expected.params) if "W" in a] \
        == [True] * 4


def test_the_cache_returns_the_same_state(explorer):
    explorer.keep[0].value = 0.5
    first = explorer.numbers["accuracy"]
    explorer.keep[0].value = 1.0
    explorer.keep[0].value = 0.5
    assert explorer.numbers["accuracy"] == first and ("L1 filter norm", (2, 8, 8)) in explorer._states


def test_bad_arguments_name_themselves(trained, images):
    from adaprune_edu import MLP

    with pytest.raises(TypeError, match="no Conv2D"):
        ChannelExplorer(MLP([64, 8, 10]), images)
    with pytest.raises(ValueError, match="criterion"):
        ChannelExplorer(trained, images, criterion="L2")
    with pytest.raises(ValueError, match="min_channels=5"):
        ChannelExplorer(trained, images, min_channels=5)
    with pytest.raises(ValueError, match="keep"):
        ChannelExplorer(trained, images, keep=[0.5, 0.5])
    with pytest.raises(ValueError, match=r"keep\[0\]"):
        ChannelExplorer(trained, images, keep=0.0)


def test_explore_serves_the_channel_explorer_page(monkeypatch, capsys):
    import nbformat

    from adaprune_edu.widgets import app

    monkeypatch.setattr(app, "CNN_PAGE_EPOCHS", 1)
    pages = []

    def call(cmd, cwd):
        pages.append(nbformat.read(cmd[3], as_version=4))
        return 0

    monkeypatch.setattr("adaprune_edu.widgets.app.subprocess.call", call)
    assert app.main(["--model", "cnn", "--port", "9124"]) == 0
    (page,) = pages
    assert "cnn_channel_explorer.ipynb" in capsys.readouterr().out
    code = page.cells[1].source
    assert "epochs=1," in code
    *body, last = code.splitlines()
    namespace = {}
    exec("\n".join(body), namespace)  # the page's code, run here: it trains the CNN and builds the explorer
    explorer = eval(last, namespace)
    assert isinstance(explorer, ChannelExplorer) and explorer.sizes == [16, 32, 64] and explorer.error is None
    with pytest.raises(SystemExit):
        app.main(["--model", "cnn", "--notebook", "other.ipynb"])
    assert "leave out --notebook" in capsys.readouterr().err
