"""The interview deck (``deck.json``), FSRS scheduling, the terminal drill and mock interview, Anki export."""
from .deck import Card, Deck, load_deck
from .interview import InterviewSession
from .leitner import LeitnerState
from .progress import load_progress, save_progress
from .scheduler import ReviewState, schedule
from .session import DrillSession

__all__ = ["Card", "Deck", "load_deck", "ReviewState", "schedule", "LeitnerState", "load_progress", "save_progress",
           "DrillSession", "InterviewSession"]
