"""The interview deck (``deck.json``), Leitner boxes, and the terminal drill ``adaprune-edu quiz``."""
from .deck import Card, Deck, load_deck
from .leitner import LeitnerState, schedule
from .progress import load_progress, save_progress
from .session import DrillSession

__all__ = ["Card", "Deck", "load_deck", "LeitnerState", "schedule", "load_progress", "save_progress", "DrillSession"]
