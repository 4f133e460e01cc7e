"""Notebook widgets: the pruning explorer (MLP) and channel explorer (CNN), the adaptive-run replay, flash cards.

Each widget keeps its logic here and exposes its controls as attributes, so tests drive it
by setting values (``explorer.target.value = 0.8``) and reading what it shows.
"""
from .channel_explorer import ChannelExplorer
from .explorer import PruningExplorer
from .flashcards import FlashCards
from .replay import ReplayWidget

__all__ = ["PruningExplorer", "ReplayWidget", "FlashCards", "ChannelExplorer"]
