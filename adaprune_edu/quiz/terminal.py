"""``adaprune-edu quiz``: drill the interview deck in the terminal.

For each card: the question is shown; press Enter to reveal the answer, then ``k`` if you
knew it (the card moves up a Leitner box) or ``a`` to see it again soon (back to box 1);
``q`` quits. Progress is saved after every card, so quitting or Ctrl-C loses nothing.
Answers are read line by line from standard input, so the drill also works piped:
``printf '\\nk\\n\\na\\n' | adaprune-edu quiz --n 2``.
"""
from __future__ import annotations

import argparse
import shutil
import sys

from .deck import load_deck
from .leitner import LeitnerState
from .progress import DEFAULT_PROGRESS_PATH, load_progress, save_progress
from .session import LANGUAGES, DrillSession, answer_text, question_text
from .wrap import fill, fill_lines

HELP_LINE = "[Enter] reveal   k = known   a = again   q = quit"


def build_parser(topics) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adaprune-edu quiz", description=__doc__.splitlines()[0].replace("``", ""))
    parser.add_argument("--lang", choices=LANGUAGES, default="both", help="language of questions and short answers")
    parser.add_argument("--n", type=int, default=10, help="cards in this session (default 10)")
    parser.add_argument("--topic", choices=sorted(topics), default=None, help="only cards of this topic")
    parser.add_argument("--seed", type=int, default=None, help="order of equally due cards (default: session number)")
    parser.add_argument("--progress-file", default=str(DEFAULT_PROGRESS_PATH),
                        help="JSON file with your Leitner boxes (default %(default)s)")
    parser.add_argument("--reset", action="store_true", help="forget all progress and start from box 1")
    parser.add_argument("--width", type=int, default=None,
                        help="wrap text to this many columns, 0 = never (default: the terminal's width, capped at "
                             "100; no wrapping when the output is not a terminal)")
    return parser


def _read(stdin, stdout, prompt: str):
    """One answer line, lower-cased and stripped; ``None`` at end of input."""
    stdout.write(prompt)
    stdout.flush()
    line = stdin.readline()
    if line == "":
        stdout.write("\n")
        return None
    return line.strip().lower()


def output_width(requested, stdout) -> int:
    """Columns to wrap to: ``requested`` if given, else the terminal's (at most 100) when ``stdout`` is one, else 0."""
    if requested is not None:
        return requested
    if not (hasattr(stdout, "isatty") and stdout.isatty()):
        return 0
    return min(shutil.get_terminal_size((80, 24)).columns - 1, 100)  # the last column can make terminals wrap early


def drill(session: DrillSession, lang: str, save, stdin, stdout, width: int = 0) -> None:
    """Ask every card of ``session``; ``save()`` is called after each mark; text wrapped to ``width`` (0: not)."""
    total = len(session.queue)

    def wrapped(text: str) -> str:
        return fill_lines(text, width) if width else text

    while not session.done:
        card = session.current
        stdout.write(f"\n[{session.position + 1}/{total}] {card.topic} ({card.source}), "
                     f"box {session.state.box(card.id)}\n{wrapped(question_text(card, lang))}\n")
        answer = _read(stdin, stdout, "[Enter] reveal > ")
        while answer not in (None, "", "k", "a", "q"):
            stdout.write(f"Unknown key {answer!r}. {HELP_LINE}\n")
            answer = _read(stdin, stdout, "> ")
        if answer == "":
            session.reveal()
            stdout.write(wrapped(answer_text(card, lang)) + "\n")
            answer = _read(stdin, stdout, "k = known, a = again, q = quit > ")
            while answer not in (None, "k", "a", "q"):
                stdout.write(f"Unknown key {answer!r}. Type k, a or q.\n")
                answer = _read(stdin, stdout, "> ")
        if answer in (None, "q"):
            return
        box = session.mark("known" if answer == "k" else "again")
        save()
        stdout.write(f"-> box {box}\n")


def main(argv=None, stdin=None, stdout=None) -> int:
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    deck = load_deck()
    args = build_parser(deck.topics).parse_args(argv)
    if args.n < 1:
        print(f"adaprune-edu quiz: --n {args.n} must be at least 1", file=sys.stderr)
        return 2
    if args.width is not None and args.width != 0 and args.width < 20:
        print(f"adaprune-edu quiz: --width {args.width} must be 0 (no wrapping) or at least 20", file=sys.stderr)
        return 2
    if args.seed is not None and args.seed < 0:
        print(f"adaprune-edu quiz: --seed {args.seed} must be >= 0", file=sys.stderr)
        return 2
    try:
        if args.reset:
            state = LeitnerState()
            stdout.write(f"Progress reset ({args.progress_file}).\n")
        else:
            state, message = load_progress(args.progress_file)
            if message:
                stdout.write(message + "\n")
        path = save_progress(state, args.progress_file)
    except OSError as exc:  # a folder in the way, no permission, a full disk...
        print(f"adaprune-edu quiz: cannot use the progress file {args.progress_file}: {exc}. "
              "Choose another with --progress-file.", file=sys.stderr)
        return 1
    session = DrillSession(deck, state, n=args.n, topic=args.topic, seed=args.seed)
    width = output_width(args.width, stdout)
    count = len(session.queue)
    header = f"{deck.title}: {count} card{'' if count == 1 else 's'}. {HELP_LINE}"
    stdout.write((fill(header, width) if width else header) + "\n")
    try:
        drill(session, args.lang, lambda: save_progress(state, path), stdin, stdout, width)
    except KeyboardInterrupt:
        stdout.write("\nInterrupted.\n")
    session.finish()
    save_progress(state, path)
    summary = session.summary()
    stdout.write(f"\n{fill(summary, width) if width else summary}\nProgress saved to {path}.\n")
    return 0
