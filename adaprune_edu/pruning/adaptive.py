"""The adaptive pruning controller: prune as far as the *task* allows, and no further.

A fixed schedule ("prune to 90% in 10 steps") decides the final sparsity before seeing the
task. The controller decides it while pruning, from validation accuracy:

1. predict the validation data with the dense model: every later state is compared with
   these predictions *on the same samples* (a paired comparison, :mod:`.paired`);
2. prune a step (a fraction of what is still unpruned) with the chosen criterion,
   granularity and per-layer allocation; a step whose fraction rounds to zero in every
   layer removes one neuron (or weight) instead, so that no step is an empty one;
3. test the step: it **passes** when ``drop + se_margin * se <= tolerance``, where ``drop``
   is the validation accuracy drop below the dense model and ``se`` its paired standard
   error; if it fails, fine-tune a few epochs and test again (up to ``1 + recovery_rounds``
   times);
4. **accept** a step that passes and grow the next step (``growth``); otherwise **roll
   back** to the last accepted masks and weights and shrink the step (``shrink_factor``);
5. **stop** when the step falls below ``min_step``, a limit is hit (``max_steps`` prune
   steps, ``max_epochs`` fine-tuning epochs in total) or a step finds nothing left to remove
   (every layer at its floor of ``neuron_multiple`` units), then spend the reserved
   ``final_epochs`` (plus any unused epochs) fine-tuning the last accepted state; if the
   fine-tuned state no longer passes, the state before the final fine-tuning is kept.

What ``tolerance`` promises. On the validation data the controller decided on, the result
passes the test of step 3: its drop is at most ``tolerance - se_margin * se``, i.e. the
one-sided upper confidence bound ``drop + se_margin * se`` is within ``tolerance`` (with
``se_margin=1.645``, a 95% bound). On unseen data it is a statement in expectation, not a
guarantee: every accept is a decision on noisy numbers (on digits one point is 3.6 of 360
validation samples), the accepted path is the one where noise favoured pruning (the winner's
curse), and each recovery round is one more look at the same samples. The margin pays for
that optimism. Measured on digits, ``adaprune-edu demo --tolerance 0.01`` seeds 0-4
(benchmarks/bench_tolerance.py): with no margin, structured runs dropped 0.67 points on the
test split on average and 2.50 on seed 1; with the defaults, 0.33 on average and at most 1.39,
at 75% of hidden neurons removed; unstructured runs 0.39 on average, at most 1.11, at 95.9%
of weights removed. ``se_margin="auto"`` is 0.5 for unstructured and 1.645 for structured
and hybrid pruning: removing neurons changes the network's outputs at once, so structured
steps need recovery rounds (more looks) and their validation drop was the more optimistic.
With ``confirm_fraction > 0`` a stratified part of the validation data is held out of all
step decisions; the final state must pass the same test there too, or the controller rolls
back along its history (newest accepted state first, the dense start last) until one does.
At 360 validation samples this costs more sparsity than the margin does for the same
safety (measured in benchmarks/bench_tolerance.py), so it is off by default.

An easy task tolerates many large steps and ends very sparse; a hard task rejects steps
early and ends denser: the same settings give different sparsities (the point of adaptivity).
Only training and validation data are used; the test split is never seen: report on it.

Per-layer budgets come from ``allocation``: ``"global"`` ranks all weights (or neurons) of
all layers together, so each layer loses what matters least across the network and the
per-layer sparsities adapt step by step; ``"layer"`` takes the same fraction from every
layer; ``"sensitivity"`` runs a :func:`.sensitivity.sensitivity_scan` first and gives robust
layers proportionally larger steps. ``"auto"`` (the default) is "global" for unstructured
pruning and "layer" for structured and hybrid: ranking neurons globally (even with the
per-layer normalisation of :mod:`.model`) empties the narrow last hidden layer first; on
digits it ended at ``[64, 29, 8, 10]`` and below one-shot random pruning, while the same
fraction per layer beat random by 0.4 points (benchmarks/README.md, "Pruning").

Resource-budget mode (``budget=("bytes_csr", 20_000)`` and the other :data:`.report.COST_METRICS`):
the goal is then to get *under the budget* with the best validation accuracy. Steps still
grow while accuracy holds and shrink when it does not, but a step at ``min_step`` that breaks
the tolerance is taken anyway (action ``"force"``) because the budget must be met; steps
are capped so as not to overshoot the budget; the run stops once the cost is within budget.

CNNs take the same path: every structured operation works on groups (:func:`.groups.layer_groups`),
so on :func:`adaprune_edu.nn.cnn` ``granularity="structured"`` removes output channels, residual-tied
channels together, no layer below ``neuron_multiple`` channels; the budgets count the CNN's bytes and
MACs (:mod:`adaprune_edu.costs`) and time the shrunk network. An MLP runs exactly as before.

>>> pruner = AdaptivePruner(tolerance=0.01).fit(model, X_train, y_train, X_val, y_val)  # doctest: +SKIP
>>> pruner.model_, pruner.sparsity_, pruner.history_[-1]["action"]                     # doctest: +SKIP
"""
from __future__ import annotations

import numbers

import numpy as np

from .._checks import check_choice, check_float, check_int, check_labels
from ..nn import Sequential
from .amount import compute_count
from .groups import layer_groups
from .model import GRANULARITIES, global_sparsity, layer_sparsities, neuron_masks, neuron_sparsity, prune_model
from .paired import paired_drop, split_validation
from .registry import GROUP_ONLY, REGISTRY, weight_layers
from .report import COST_METRICS, resource_cost
from .sensitivity import sensitivity_scan

ALLOCATIONS = ("auto", "global", "layer", "sensitivity")
#: ``se_margin="auto"``: paired standard errors kept between the validation drop and the tolerance
#: (benchmarks/bench_tolerance.py measures why unstructured and structured differ)
SE_MARGIN_AUTO = {"unstructured": 0.5, "structured": 1.645, "hybrid": 1.645}


class AdaptivePruner:
    """Prune, fine-tune, check validation accuracy, and adapt the step size.

    Parameters
    ----------
    tolerance : float in [0, 1], default 0.01
        Largest allowed drop of accuracy below the dense model's (0.01 = 1 point), tested on
        validation data with a margin (``se_margin``); see "What ``tolerance`` promises" in the
        module docstring.
    criterion : a name in :data:`.registry.REGISTRY`, default "magnitude"
        The group-only ones (:data:`.registry.GROUP_ONLY`: "activation", "apoz", "taylor_activation",
        "bn_scale") need granularity "structured" or "hybrid"; "bn_scale" needs BatchNorm (a CNN).
    granularity : {"unstructured", "structured", "hybrid"}, default "unstructured"
        "structured" removes whole groups (:mod:`.groups`): hidden neurons of an MLP, output channels
        of a CNN's convolutions (filter, bias, BatchNorm entries and the next layer's input channel;
        channels tied by a residual add together).
    allocation : {"auto", "global", "layer", "sensitivity"}, default "auto"
        How a step is shared among layers (see the module docstring). "sensitivity" works with
        "unstructured" and "structured"; "auto" is "global" for unstructured, else "layer".
    initial_step : float in (0, 1), default 0.5
        First step: the fraction of still-unpruned weights (or alive neurons) to remove.
    growth : float >= 1, default 1.5
        Step multiplier after an accepted step (capped at ``max_step``).
    shrink_factor : float in (0, 1), default 0.5
        Step multiplier after a rolled-back step.
    max_step, min_step : floats in (0, 1), defaults 0.75 and 0.05
        Largest step; the run stops when the step falls below ``min_step``.
    finetune_epochs : int >= 1, default 2
        Epochs per fine-tuning round.
    recovery_rounds : int >= 0, default 1
        Extra fine-tuning rounds a step gets before it is rolled back.
    max_steps : int >= 1, default 40
        Limit on prune steps (accepted or not).
    max_epochs : int >= 0, default 60
        Limit on fine-tuning epochs in total, ``final_epochs`` included.
    final_epochs : int >= 0, default 10
        Epochs reserved for fine-tuning the final state; epochs the pruning loop leaves unused
        are added to them.
    budget : None or (metric, value), default None
        Resource-budget mode: ``metric`` in ``COST_METRICS``, ``value`` > 0 in that metric's unit.
    optimizer : "sgd", "momentum" or "adam", default "adam"
        Fine-tuning optimizer (a fresh one per round). Adam at 1e-3 recovers accuracy after
        pruning markedly better than momentum SGD at this budget (see benchmarks/).
    learning_rate : float > 0 or None, default 1e-3
    batch_size : int >= 1, default 64
    structured_fraction : float in [0, 1], default 0.5
        Hybrid only: a step removes ``structured_fraction * step`` of the neurons first.
    score_batches : int >= 1, default 8
        Training batches used by data-driven criteria (gradient, Taylor, activation, APoZ).
    neuron_multiple : int >= 1, default 1
        Structured and hybrid: the fewest units (neurons, channels) a step leaves in a layer of
        groups (a layer already narrower keeps what it has; 1: no step empties a layer), and after
        each step a few more units are removed (by the same criterion) so that every layer keeps a
        multiple of this many. Matrix products whose sizes are multiples of the SIMD width
        run closer to the machine's peak: on digits a ``[64, 96, 48, 10]`` network ran 0.85x
        its FLOP reduction faster, ``[64, 90, 45, 10]`` only 0.77x (benchmarks/README.md, "Pruning").
        16 suits float32 on AVX-512; 1 disables the rounding.
    seed : int, default 0
        For the "random" criterion.
    progress : bool, default False
        A progress bar over the fine-tuning epoch budget.
    se_margin : float >= 0 or "auto", default "auto"
        A state passes when ``drop + se_margin * se <= tolerance`` (``drop``: validation accuracy
        drop below the dense model, ``se``: its paired standard error). 0 is the plain rule
        ``drop <= tolerance``; 1.645 a one-sided 95% bound; "auto" is 0.5 for unstructured and
        1.645 for structured and hybrid pruning.
    confirm_fraction : float in [0, 0.5], default 0.0
        Share of the validation data (stratified, drawn with ``seed``) kept out of the step
        decisions and used only to confirm the final state, with rollback along the history.
    step_callback : None or callable ``(record, model) -> None``, default None
        Called after every prune step with its history record and the model in the state the
        decision was made on (before a rollback). For measuring, e.g. how optimistic the
        validation drop was on held-out data; it must not modify the model.

    Attributes
    ----------
    model_ : MLP or Sequential, the pruned, fine-tuned copy (the model passed to ``fit`` is not modified);
        masked, not shrunk: :func:`.surgery.shrink` gives the physically smaller network
    history_ : list of dicts, one per prune step plus a final "stop" record, with keys
        ``step``, ``amount`` (the step size), ``target`` (weight sparsity aimed at for
        unstructured/hybrid, neuron sparsity for structured), ``sparsity``, ``neuron_sparsity``,
        ``layer_sparsity``, ``val_accuracy`` (on the data the decisions use), ``val_drop`` and
        ``val_drop_se`` (the paired drop below the dense model and its standard error: what the
        decision used), ``action`` ("accept", "rollback", "force", "stop"), ``epochs``
        (fine-tuning epochs in this step), ``total_epochs`` and ``cost`` (budget mode; else
        None). The "stop" record also has ``reason``, ``kept_step`` (the history step whose
        masks the result has; 0 is the dense start) and ``confirm_drop`` / ``confirm_drop_se``
        (on the confirmation data; None without it)
    dense_val_accuracy_, val_accuracy_ : floats, on all of ``X_val`` (in budget mode,
        ``val_accuracy_`` is the accuracy reached under the budget, after the final fine-tuning)
    val_drop_, val_drop_se_ : floats, the result's paired drop and standard error on the
        decision data
    se_margin_ : float, the margin used ("auto" resolved)
    kept_step_ : int, see ``history_``
    confirmation_ : list of dicts, the candidates tested on the confirmation data (``step``,
        ``drop``, ``se``, ``passed``), newest first; empty without confirmation data
    sparsity_, neuron_sparsity_ : floats, of ``model_``
    epochs_used_, n_steps_ : ints
    stop_reason_ : str
    budget_met_ : bool or None (None without a budget)
    cost_ : float or None, ``model_``'s cost in the budget's metric
    allocation_ : str, the allocation used ("auto" resolved)
    allowances_ : list of floats or None, per-layer sparsities the sensitivity scan allowed
    """

    def __init__(self, tolerance=0.01, criterion="magnitude", granularity="unstructured", allocation="auto",
                 initial_step=0.5, growth=1.5, shrink_factor=0.5, max_step=0.75, min_step=0.05,
                 finetune_epochs=2, recovery_rounds=1, max_steps=40, max_epochs=60, final_epochs=10,
                 budget=None, optimizer="adam", learning_rate=1e-3, batch_size=64, structured_fraction=0.5,
                 score_batches=8, neuron_multiple=1, seed=0, progress=False, se_margin="auto", confirm_fraction=0.0,
                 step_callback=None):
        self.tolerance = tolerance
        self.criterion = criterion
        self.granularity = granularity
        self.allocation = allocation
        self.initial_step = initial_step
        self.growth = growth
        self.shrink_factor = shrink_factor
        self.max_step = max_step
        self.min_step = min_step
        self.finetune_epochs = finetune_epochs
        self.recovery_rounds = recovery_rounds
        self.max_steps = max_steps
        self.max_epochs = max_epochs
        self.final_epochs = final_epochs
        self.budget = budget
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.structured_fraction = structured_fraction
        self.score_batches = score_batches
        self.neuron_multiple = neuron_multiple
        self.seed = seed
        self.progress = progress
        self.se_margin = se_margin
        self.confirm_fraction = confirm_fraction
        self.step_callback = step_callback

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        check_float("tolerance", self.tolerance, minimum=0.0, maximum=1.0)
        check_choice("criterion", self.criterion, tuple(REGISTRY))
        check_choice("granularity", self.granularity, GRANULARITIES)
        check_choice("allocation", self.allocation, ALLOCATIONS)
        if self.criterion in GROUP_ONLY and self.granularity == "unstructured":
            raise ValueError(f"criterion={self.criterion!r} scores whole neurons; with granularity='unstructured' "
                             f"use one of {[c for c in REGISTRY if c not in GROUP_ONLY]}")
        if self.allocation == "sensitivity" and self.granularity == "hybrid":
            raise ValueError("allocation='sensitivity' works with granularity 'unstructured' or 'structured'; "
                             "for 'hybrid' use allocation 'global' or 'layer'")
        for name in ("initial_step", "max_step", "min_step"):
            check_float(name, getattr(self, name), minimum=0.0, maximum=1.0, strict_min=True)
            if getattr(self, name) >= 1.0:
                raise ValueError(f"{name}={getattr(self, name)} must be < 1 (a step of 1 prunes everything)")
        if self.min_step > self.max_step:
            raise ValueError(f"min_step={self.min_step} must be <= max_step={self.max_step}")
        check_float("growth", self.growth, minimum=1.0)
        check_float("shrink_factor", self.shrink_factor, minimum=0.0, maximum=1.0, strict_min=True)
        if self.shrink_factor >= 1.0:
            raise ValueError(f"shrink_factor={self.shrink_factor} must be < 1 so that the step shrinks")
        check_int("finetune_epochs", self.finetune_epochs, minimum=1)
        check_int("recovery_rounds", self.recovery_rounds, minimum=0)
        check_int("max_steps", self.max_steps, minimum=1)
        check_int("max_epochs", self.max_epochs, minimum=0)
        check_int("final_epochs", self.final_epochs, minimum=0)
        if self.final_epochs > self.max_epochs:
            raise ValueError(f"final_epochs={self.final_epochs} must be <= max_epochs={self.max_epochs}")
        check_choice("optimizer", self.optimizer, {"sgd", "momentum", "adam"})
        if self.learning_rate is not None:
            check_float("learning_rate", self.learning_rate, minimum=0.0, strict_min=True)
        check_int("batch_size", self.batch_size, minimum=1)
        check_float("structured_fraction", self.structured_fraction, minimum=0.0, maximum=1.0)
        check_int("score_batches", self.score_batches, minimum=1)
        check_int("neuron_multiple", self.neuron_multiple, minimum=1)
        check_int("seed", self.seed, minimum=0)
        if isinstance(self.se_margin, str):
            if self.se_margin != "auto":
                raise ValueError(f"se_margin={self.se_margin!r} must be 'auto' or a float >= 0")
        else:
            check_float("se_margin", self.se_margin, minimum=0.0)
        check_float("confirm_fraction", self.confirm_fraction, minimum=0.0, maximum=0.5)
        if self.step_callback is not None and not callable(self.step_callback):
            raise TypeError(f"step_callback={self.step_callback!r} must be None or a callable (record, model)")
        if not isinstance(self.progress, (bool, np.bool_)):
            raise TypeError(f"progress={self.progress!r} must be True or False")
        if self.budget is not None:
            if isinstance(self.budget, (str, bytes)) or not isinstance(self.budget, (tuple, list)) \
                    or len(self.budget) != 2:
                raise TypeError(f"budget={self.budget!r} must be None or a pair (metric, value), "
                                f"metric one of {list(COST_METRICS)}")
            check_choice("budget[0]", self.budget[0], COST_METRICS)
            check_float("budget[1]", self.budget[1], minimum=0.0, strict_min=True)

    # ------------------------------------------------------------------ the loop's pieces
    def _prune(self, model, step: float) -> None:
        """Prune ``step`` of what remains, shared among layers as ``allocation`` says.

        Structured and hybrid: a step that would leave a layer of units with fewer than
        ``neuron_multiple`` (at least one) is redone with that floor (:meth:`_prune_with_floor`).
        """
        common = dict(criterion=self.criterion, granularity=self.granularity, X=self._X_score,
                      y=self._y_score, seed=self.seed, batch_size=self.batch_size, n_batches=self.score_batches)
        if self.granularity == "hybrid":
            common["structured_fraction"] = self.structured_fraction
        before = self._removed(model)
        alive_before = self._alive(model)
        state = model.get_state() if self.granularity != "unstructured" else None
        if self.allocation_ == "sensitivity":
            prune_model(model, None, scope=[step * w for w in self._layer_weights], **common)
        else:
            prune_model(model, step, scope=self.allocation_, **common)
        if state is not None and self._below_floor(alive_before, self._alive(model)):
            model.set_state(state)
            self._prune_with_floor(model, step, alive_before, common)
        self._at_least_one(model, before, common)
        if self.neuron_multiple > 1 and self.granularity != "unstructured":
            self._round_neurons(model, common)

    @staticmethod
    def _alive(model) -> list:
        """Alive units (hidden neurons, channels) per layer of groups."""
        return [int(np.sum(a)) for a in neuron_masks(model)]

    def _below_floor(self, before, after) -> bool:
        """Did a layer drop below the floor (``neuron_multiple``; a layer already narrower keeps what it had)?"""
        return any(a < min(self.neuron_multiple, b) for b, a in zip(before, after))

    def _prune_with_floor(self, model, step: float, alive, common) -> None:
        """The step of :meth:`_prune` again, removing no unit that would take a layer below the floor.

        A layer keeps at least ``neuron_multiple`` units (or what it has, if fewer): the counts are
        clipped per layer ("layer", "sensitivity") or the best units of each layer are kept out of the
        ranking ("global", :func:`.model.prune_model`'s ``min_per_layer``).
        """
        floor = self.neuron_multiple
        removable = [max(0, a - floor) for a in alive]
        if self.granularity == "structured":
            if self.allocation_ == "global":
                count = min(compute_count(step, sum(alive)), sum(removable))
                prune_model(model, count, scope="global", min_per_layer=floor, **common)
                return
            weights = self._layer_weights if self.allocation_ == "sensitivity" else [1.0] * len(alive)
            counts = [min(compute_count(step * w, a), r) for w, a, r in zip(weights, alive, removable)]
            prune_model(model, None, scope=counts, **common)
            return
        try:  # hybrid: the neuron stage keeps the floor; its weight stage is unchanged
            prune_model(model, step, scope=self.allocation_, min_per_layer=floor, **common)
        except ValueError:  # no layer can give units without going below the floor: weights only
            options = {k: v for k, v in common.items() if k not in ("granularity", "structured_fraction")}
            if options["criterion"] in GROUP_ONLY:
                options["criterion"] = "magnitude"
            prune_model(model, step, granularity="unstructured", scope=self.allocation_, **options)

    @staticmethod
    def _removed(model) -> tuple:
        """(pruned weights, removed units): what a step must change."""
        weights = sum(int(np.sum(model.masks[i]["W"] == 0)) for i in weight_layers(model)
                      if model.masks[i]["W"] is not None)
        neurons = sum(int(np.sum(~alive)) for alive in neuron_masks(model))
        return weights, neurons

    def _at_least_one(self, model, before, common) -> None:
        """A step whose fraction rounds to zero everywhere removes one unit instead of nothing.

        Small layers late in a run: 5% of 9 alive neurons is ``round(0.45) = 0``. Without this, such
        a step changes nothing, is "accepted", and in budget mode the run stalls above the budget.
        Structured (and hybrid, unless ``structured_fraction`` is 0): one neuron of the widest hidden
        layer that keeps at least one; unstructured (and hybrid): one weight of the global ranking.
        """
        weights, neurons = self._removed(model)
        options = {k: v for k, v in common.items() if k not in ("granularity", "structured_fraction")}
        wants_neurons = self.granularity == "structured" or (self.granularity == "hybrid"
                                                              and self.structured_fraction > 0)
        if wants_neurons and neurons == before[1]:
            alive = self._alive(model)
            if alive and max(alive) > self.neuron_multiple:
                widest = int(np.argmax(alive))
                prune_model(model, None, granularity="structured",
                            scope=[int(i == widest) for i in range(len(alive))], **options)
        if self.granularity != "structured" and weights == before[0]:
            if global_sparsity(model) < 1.0:
                if options["criterion"] in GROUP_ONLY:
                    options["criterion"] = "magnitude"
                prune_model(model, 1, granularity="unstructured", scope="global", **options)

    def _round_neurons(self, model, common) -> None:
        """Remove the fewest extra neurons so each hidden layer keeps a multiple of ``neuron_multiple``."""
        m = self.neuron_multiple
        alive = [int(np.sum(a)) for a in neuron_masks(model)]
        extra = [a % m if a >= m else 0 for a in alive]
        if any(extra):
            options = dict(common, granularity="structured")
            options.pop("structured_fraction", None)
            prune_model(model, None, scope=extra, **options)

    def _finetune(self, model, epochs: int) -> None:
        model.fit(self._X_train, self._y_train, epochs=epochs, batch_size=self.batch_size,
                  optimizer=self.optimizer, learning_rate=self.learning_rate, progress=False)
        self._epochs += epochs
        if self._bar is not None:
            self._bar.update(epochs)

    def _cost(self, model):
        if self.budget is None:
            return None
        return resource_cost(model, self.budget[0], X=self._X_val, repeats=5)

    def _target(self, model, step: float) -> float:
        if self.granularity == "structured":
            current = neuron_sparsity(model)
        else:
            current = global_sparsity(model)
        return 1.0 - (1.0 - current) * (1.0 - step)

    def _cap_to_budget(self, model, step: float) -> float:
        """The smallest step in (0, ``step``] that brings the cost within budget, if ``step`` overshoots.

        Bisection on trial copies (no training). Not for latency, whose measurements are too
        noisy to bisect on.
        """
        if self.budget is None or self.budget[0] == "latency_ms":
            return step
        metric, limit = self.budget

        def cost_after(amount):
            trial = model.copy()
            self._prune(trial, amount)
            return resource_cost(trial, metric, X=self._X_val[:1])

        if cost_after(step) > limit:
            return step
        low, high = 0.0, step
        for _ in range(12):
            middle = (low + high) / 2
            if cost_after(middle) <= limit:
                high = middle
            else:
                low = middle
        return high

    def _judge(self, model) -> tuple:
        """(search accuracy, paired drop below dense, passes?) of ``model`` on the search part of validation."""
        predicted = model.predict(self._X_val)
        result = paired_drop(self._y_val, self._dense_val_pred, predicted)
        passes = result.upper_bound(self.se_margin_) <= self.tolerance + 1e-12
        return float(np.mean(predicted == self._y_val)), result, passes

    def _record(self, model, step_index, amount, target, val, action, epochs, cost, drop=None):
        self.history_.append({
            "step": step_index, "amount": amount, "target": target, "sparsity": global_sparsity(model),
            "neuron_sparsity": neuron_sparsity(model),
            "layer_sparsity": layer_sparsities(model), "val_accuracy": val,
            "val_drop": None if drop is None else drop.drop, "val_drop_se": None if drop is None else drop.se,
            "action": action, "epochs": epochs, "total_epochs": self._epochs, "cost": cost,
        })
        if self.step_callback is not None and action != "stop":
            self.step_callback(self.history_[-1], model)

    # ------------------------------------------------------------------ fit
    def fit(self, model, X_train, y_train, X_val, y_val):
        """Prune a copy of ``model`` adaptively; returns ``self`` (the result is ``model_``).

        Parameters
        ----------
        model : MLP or Sequential (e.g. :func:`adaprune_edu.nn.cnn`), trained; not modified
        X_train : ndarray of shape (n_train, n_features), or images (n_train, H, W, C) for a CNN
        y_train : ndarray of shape (n_train,)
        X_val : ndarray of shape (n_val, n_features), or images (n_val, H, W, C) for a CNN
        y_val : ndarray of shape (n_val,)
        """
        self._validate()
        if not isinstance(model, Sequential):
            raise TypeError(f"model must be an adaprune_edu.nn network (an MLP, or a Sequential such as nn.cnn()), "
                            f"got {type(model).__name__}")
        groups = layer_groups(model)
        if self.granularity != "unstructured" and not groups:
            raise ValueError(f"granularity={self.granularity!r} removes hidden neurons; this model has none")
        if REGISTRY[self.criterion].needs_batchnorm and not any(kind == "batchnorm" for g in groups
                                                                  for kind, _ in g.steps):
            raise ValueError(f"criterion={self.criterion!r} ranks channels by their BatchNorm scale; this model has "
                             "no BatchNorm2D after a pruned layer (use e.g. 'magnitude')")
        self._X_train = model._check_X("X_train", X_train)
        self._y_train = check_labels("y_train", y_train, self._X_train.shape[0], model.n_classes)
        X_all = model._check_X("X_val", X_val)
        y_all = check_labels("y_val", y_val, X_all.shape[0], model.n_classes)
        search, confirm = split_validation(y_all, self.confirm_fraction, self.seed)
        if search.size < 2 or (self.confirm_fraction > 0 and confirm.size < 2):
            raise ValueError(f"X_val has {X_all.shape[0]} samples: too few for confirm_fraction="
                             f"{self.confirm_fraction} (each part needs at least 2)")
        self._X_val, self._y_val = X_all[search], y_all[search]
        self._X_confirm, self._y_confirm = X_all[confirm], y_all[confirm]
        n_score = min(self._X_train.shape[0], self.batch_size * self.score_batches)
        self._X_score, self._y_score = self._X_train[:n_score], self._y_train[:n_score]

        pruned = model.copy()
        self.history_, self._epochs = [], 0
        self.dense_val_accuracy_ = pruned.score(X_all, y_all)
        self._dense_val_pred = pruned.predict(self._X_val)
        self._dense_confirm_pred = pruned.predict(self._X_confirm) if confirm.size else None
        self.dense_search_accuracy_ = float(np.mean(self._dense_val_pred == self._y_val))
        self.se_margin_ = self.se_margin
        if self.se_margin == "auto":
            self.se_margin_ = SE_MARGIN_AUTO[self.granularity]
        self.allocation_ = self.allocation
        if self.allocation == "auto":
            self.allocation_ = "global" if self.granularity == "unstructured" else "layer"
        self.allowances_ = None
        if self.allocation_ == "sensitivity":
            table = sensitivity_scan(pruned, self._X_val, self._y_val, criterion=self.criterion,
                                     granularity=self.granularity, X_score=self._X_score, y_score=self._y_score,
                                     seed=self.seed)
            self.allowances_ = table.max_sparsity(self.tolerance)
            smallest = min(table.rows, key=lambda r: r["sparsity"])["sparsity"]
            floors = [max(a, smallest / 2) for a in self.allowances_]
            self._layer_weights = [f / max(floors) for f in floors]

        self._bar = None
        if self.progress:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.max_epochs, desc="adaptive pruning", unit="epoch", leave=False)
        try:
            accepted = self._loop(pruned)
            final_step = self._final_finetune(pruned, accepted)
            self.confirmation_ = self._confirm(pruned, accepted, final_step)
        finally:
            if self._bar is not None:
                self._bar.close()

        self.model_ = pruned
        self.val_accuracy_ = pruned.score(X_all, y_all)
        self.sparsity_ = global_sparsity(pruned)
        self.neuron_sparsity_ = neuron_sparsity(pruned)
        self.cost_ = self._cost(pruned)
        self.budget_met_ = None if self.budget is None else bool(self.cost_ <= self.budget[1])
        self.epochs_used_ = self._epochs
        self.n_steps_ = sum(1 for h in self.history_ if h["action"] != "stop")
        reached = self.neuron_sparsity_ if self.granularity == "structured" else self.sparsity_
        search_val, drop, _ = self._judge(pruned)
        self._record(pruned, self.n_steps_ + 1, 0.0, reached, search_val, "stop",
                     self._epochs - self._epochs_before_final, self.cost_, drop)
        self.val_drop_, self.val_drop_se_ = drop.drop, drop.se
        self.history_[-1]["reason"] = self.stop_reason_
        self.history_[-1]["kept_step"] = self.kept_step_
        chosen = [c for c in self.confirmation_ if c["passed"]]
        self.history_[-1]["confirm_drop"] = chosen[0]["drop"] if chosen else None
        self.history_[-1]["confirm_drop_se"] = chosen[0]["se"] if chosen else None
        for name in ("_X_train", "_y_train", "_X_val", "_y_val", "_X_score", "_y_score", "_bar", "_X_confirm",
                     "_y_confirm", "_dense_val_pred", "_dense_confirm_pred"):
            delattr(self, name)
        return self

    def _loop(self, model) -> list:
        """Prune steps until the step is too small, a limit is hit, or the budget is met.

        Returns the accepted (or forced) steps as ``(step index, state)``, oldest first, the
        dense start as step 0; the model ends in the last of them.
        """
        step = float(self.initial_step)
        accepted = [(0, model.get_state())]
        pruning_epochs = self.max_epochs - self.final_epochs
        ft = self.finetune_epochs
        steps = 0
        self.stop_reason_ = "max_steps"
        while steps < self.max_steps:
            if self.budget is not None and self._cost(model) <= self.budget[1]:
                self.stop_reason_ = "budget met"
                break
            if step < self.min_step:
                if self.budget is None:
                    self.stop_reason_ = "step below min_step"
                    break
                step = float(self.min_step)
            if self.budget is None and self._epochs + ft > pruning_epochs and steps > 0:
                self.stop_reason_ = "epoch budget"
                break
            amount = self._cap_to_budget(model, min(step, self.max_step))
            target = self._target(model, amount)
            removed = self._removed(model)
            self._prune(model, amount)
            if self._removed(model) == removed:  # every layer at its floor (or everything pruned)
                self.stop_reason_ = "nothing left to prune"
                break
            steps += 1
            val, drop, ok = self._judge(model)
            epochs, rounds = 0, 0
            while not ok and rounds <= self.recovery_rounds and self._epochs + ft <= pruning_epochs:
                self._finetune(model, ft)
                epochs += ft
                rounds += 1
                val, drop, ok = self._judge(model)
            cost = self._cost(model)
            if ok:
                action = "accept"
            elif self.budget is not None and step <= self.min_step:
                action = "force"  # the budget must be met: take the smallest step anyway
            else:
                action = "rollback"
            self._record(model, steps, amount, target, val, action, epochs, cost, drop)
            if self._bar is not None:
                self._bar.set_postfix(sparsity=f"{global_sparsity(model):.3f}", val=f"{val:.4f}", action=action)
            if action == "rollback":
                model.set_state(accepted[-1][1])
                step *= self.shrink_factor
            else:
                accepted.append((steps, model.get_state()))
                if action == "accept":
                    step = min(step * self.growth, self.max_step)
        else:
            self.stop_reason_ = "max_steps"
        model.set_state(accepted[-1][1])
        return accepted

    def _final_finetune(self, model, accepted) -> int:
        """Fine-tune the last accepted state with the reserved and the unused epochs.

        The state at the end is kept, not the best validation epoch: picking the maximum of a
        noisy validation curve (360 samples on digits) selects luck more than a better model.
        Fine-tuning does not change masks; if the fine-tuned state no longer passes the test on
        the search data, the state before it is kept. Returns the history step of the kept state
        (0 is the dense start).
        """
        self._epochs_before_final = self._epochs
        epochs = self.max_epochs - self._epochs  # the reserve plus whatever the loop left unused
        if epochs > 0:
            before = model.get_state()
            self._finetune(model, epochs)
            if self.budget is None and not self._judge(model)[2]:
                model.set_state(before)
        return accepted[-1][0]

    def _confirm(self, model, accepted, final_step) -> list:
        """Check the kept state on the confirmation data; roll back along the history until one passes.

        Candidates, newest first: the fine-tuned final state, then every accepted state (as it was
        when accepted), then the dense start, which always passes. Without confirmation data the
        current state is kept. Returns one dict per candidate tried: ``step``, ``drop``, ``se``,
        ``passed``. Sets ``kept_step_`` (0: dense).
        """
        self.kept_step_ = final_step
        if self._dense_confirm_pred is None or self.budget is not None:
            return []
        candidates = [(final_step, model.get_state())] + list(reversed(accepted[:-1]))
        tried = []
        for step_index, state in candidates:
            model.set_state(state)
            result = paired_drop(self._y_confirm, self._dense_confirm_pred, model.predict(self._X_confirm))
            passed = step_index == 0 or result.upper_bound(self.se_margin_) <= self.tolerance + 1e-12
            tried.append({"step": step_index, "drop": result.drop, "se": result.se, "passed": passed})
            if passed:
                self.kept_step_ = step_index
                break
        return tried

    # ------------------------------------------------------------------ reading the result
    def history_text(self) -> str:
        """The step-by-step history as a text table."""
        if not hasattr(self, "history_"):
            raise ValueError("this AdaptivePruner is not fitted yet; call fit(...) first")
        lines = [f"dense val accuracy {self.dense_val_accuracy_:.2%}, tolerance {self.tolerance:.2%}, a state passes "
                 f"when val drop + {self.se_margin_:g} x its paired standard error <= tolerance",
                 "step  amount  target  sparsity  neurons   val acc  val drop (se)  epochs  action"]
        for h in self.history_:
            lines.append(f"{h['step']:>4}  {h['amount']:>6.3f}  {h['target']:>6.1%}  {h['sparsity']:>8.1%}  "
                         f"{h['neuron_sparsity']:>7.1%}  {h['val_accuracy']:>8.2%}  "
                         f"{100 * h['val_drop']:>+5.2f} ({100 * h['val_drop_se']:.2f})  {h['epochs']:>6}  {h['action']}"
                         + (f" ({h['reason']}; masks of step {h['kept_step']})" if "reason" in h else ""))
        return "\n".join(lines)

    def get_params(self) -> dict:
        """Constructor arguments (scikit-learn's convention)."""
        names = self.__init__.__code__.co_varnames[1:self.__init__.__code__.co_argcount]
        return {name: getattr(self, name) for name in names}

    def __repr__(self):
        changed = {k: v for k, v in self.get_params().items()
                   if not (isinstance(v, numbers.Number) and v == _DEFAULTS.get(k)) and v != _DEFAULTS.get(k)}
        return "AdaptivePruner(" + ", ".join(f"{k}={v!r}" for k, v in changed.items()) + ")"


_DEFAULTS = dict(zip(AdaptivePruner.__init__.__code__.co_varnames[1:AdaptivePruner.__init__.__code__.co_argcount],
                     AdaptivePruner.__init__.__defaults__))
