"""Importance scores for a whole network, by criterion name: now :mod:`.registry`.

Kept so that ``from adaprune_edu.pruning.model_scores import neuron_scores`` keeps working.
"""
from .registry import CRITERIA, neuron_scores, weight_scores

__all__ = ["CRITERIA", "weight_scores", "neuron_scores"]
