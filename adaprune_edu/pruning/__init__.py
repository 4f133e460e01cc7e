"""Pruning: amount rules, masks, criteria, regularisers, schedules, model-level pruning.

Read in this order:

- :mod:`.amount` -- what ``amount`` means (PyTorch's rule);
- :mod:`.masks` -- ``torch.nn.utils.prune``'s functions on NumPy arrays (scores -> mask);
- :mod:`.patterns` -- N:M (2:4) and block masks: fixed patterns that hardware and kernels skip;
- :mod:`.groups` -- what is removed together (neurons, channels, residual ties), derived from the network;
- :mod:`.criteria` -- importance scores: magnitude, gradient, Taylor, activation, APoZ, BatchNorm scale, random;
- :mod:`.registry` -- the criteria by name: what each needs and which granularities it serves;
- :mod:`.probe` -- layer outputs and the loss gradient there, for the data-driven criteria;
- :mod:`.regularizers` -- L1 and group-lasso penalties that drive weights / neurons to zero;
- :mod:`.schedules` -- one-shot, iterative and gradual (AGP) sparsity targets per step;
- :mod:`.model_masks` -- a whole network's masks: sparsities, which groups are gone, removing groups;
- :mod:`.model` -- pruning a whole network (MLP or CNN): granularity, scope, absolute targets;
- :mod:`.surgery` -- cutting removed groups out: a physically smaller network;
- :mod:`.sparse` -- CSR export and a sparse forward pass;
- :mod:`.report` -- what a pruned model costs: params, FLOPs, bytes, latency;
- :mod:`.sensitivity` -- one layer at a time: how much can each layer lose?
- :mod:`.adaptive` -- the adaptive controller: prune as far as the task allows.

Before and during training (notebook 11):

- :mod:`.lottery` -- lottery tickets: iterative magnitude pruning with rewinding, and its controls;
- :mod:`.at_init` -- pruning at initialisation: SNIP, GraSP, SynFlow, magnitude, random;
- :mod:`.sparse_training` -- sparse from scratch: ERK densities, SET and RigL, training FLOPs;
- :mod:`.movement` -- movement pruning during fine-tuning, with a cubic schedule;
- :mod:`.trial` and :mod:`.training_time` -- one measured training run, and the notebook's experiments.
"""
from .adaptive import AdaptivePruner
from .amount import compute_count, fraction_of_remaining
from .at_init import prune_at_init, shuffle_within_layers
from .criteria import (
    accumulated_gradient,
    activation_taylor,
    apoz,
    batchnorm_scale,
    combine,
    group_taylor,
    magnitude,
    mean_activation,
    neuron_norms,
    random_scores,
    taylor,
    taylor_neurons,
    unit_apoz,
    unit_mean_activation,
)
from .groups import LayerGroups, Slice, alive_units, count_macs, layer_groups, remove_units
from .lottery import find_tickets
from .masks import (
    custom_from_mask,
    global_unstructured,
    identity,
    l1_unstructured,
    ln_structured,
    prune_lowest,
    random_structured,
    random_unstructured,
    slice_norms,
)
from .model import (
    CRITERIA,
    GRANULARITIES,
    global_sparsity,
    layer_sparsities,
    neuron_masks,
    neuron_scores,
    neuron_sparsity,
    prune_model,
    prune_to_sparsity,
    set_neuron_mask,
    weight_scores,
)
from .movement import GradualPruning, MovementScores
from .paired import PairedDrop, paired_drop, split_validation
from .patterns import block_mask, block_norms, n_m_mask
from .registry import GROUP_ONLY, REGISTRY, Criterion, group_scores
from .regularizers import BatchNormL1Penalty, GroupLassoPenalty, L1Penalty, prune_small, zeroed_neurons, zeroed_weights
from .report import COST_METRICS, CompressionReport, compression_report, inference_function, resource_cost
from .schedules import Iterative, OneShot, Polynomial
from .sensitivity import SensitivityTable, sensitivity_scan
from .sparse import SparseMLP, export_csr, to_csr
from .sparse_training import DynamicSparseTraining, erk_densities
from .surgery import removable_neurons, shrink

__all__ = [
    "compute_count", "fraction_of_remaining",
    "identity", "random_unstructured", "l1_unstructured", "random_structured", "ln_structured",
    "global_unstructured", "custom_from_mask", "prune_lowest", "slice_norms",
    "magnitude", "neuron_norms", "accumulated_gradient", "taylor", "mean_activation", "apoz", "random_scores",
    "taylor_neurons", "combine",
    "CRITERIA", "GRANULARITIES", "prune_model", "prune_to_sparsity", "layer_sparsities", "global_sparsity",
    "neuron_masks", "neuron_sparsity", "set_neuron_mask", "weight_scores", "neuron_scores",
    "L1Penalty", "GroupLassoPenalty", "zeroed_weights", "zeroed_neurons", "prune_small",
    "OneShot", "Iterative", "Polynomial",
    "shrink", "removable_neurons", "SparseMLP", "to_csr", "export_csr",
    "compression_report", "CompressionReport", "inference_function", "resource_cost", "COST_METRICS",
    "sensitivity_scan", "SensitivityTable", "AdaptivePruner",
    "n_m_mask", "block_mask", "block_norms",
    "PairedDrop", "paired_drop", "split_validation",
    "layer_groups", "LayerGroups", "Slice", "alive_units", "remove_units", "count_macs",
    "REGISTRY", "Criterion", "GROUP_ONLY", "group_scores",
    "group_taylor", "activation_taylor", "unit_mean_activation", "unit_apoz", "batchnorm_scale", "BatchNormL1Penalty",
    "find_tickets", "prune_at_init", "shuffle_within_layers", "DynamicSparseTraining", "erk_densities",
    "MovementScores", "GradualPruning",
]
