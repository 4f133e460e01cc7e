"""``adaprune-edu quiz``: drill the interview deck, or rehearse a mock interview, in the terminal.

Drill (the default): for each card the question is shown; press Enter to reveal the answer, then
``k`` if you knew it, ``a`` to see it again soon (``h`` = hard, ``e`` = easy); ``q`` quits. FSRS
schedules the next review of every card. Progress is saved after every card, so quitting or Ctrl-C
loses nothing. Answers are read line by line, so the drill also works piped:
``printf '\\nk\\n\\na\\n' | adaprune-edu quiz --n 2``.

Mock interview (``--mode interview``, optionally ``--time 60`` for a visible countdown): a question,
your answer (typed, or aloud and then Enter), the model answer and its key points to tick, then a
follow-up from the same card. The session report is saved beside the progress file.

``--export-anki FILE.apkg`` writes the bilingual deck as an Anki package and exits.
"""
from __future__ import annotations

import argparse
import os
import select
import shutil
import sys
import time

from .deck import load_deck
from .interview import InterviewSession, message, parse_ticks, save_report
from .progress import DEFAULT_PROGRESS_PATH, load_progress, save_progress
from .scheduler import ReviewState
from .session import LANGUAGES, DrillSession, answer_text, interview_sections, question_text, sections_text
from .wrap import fill, fill_lines

HELP_LINE = "[Enter] reveal   k = known   a = again   h = hard   e = easy   q = quit"
MARKS = {"k": "known", "a": "again", "h": "hard", "e": "easy"}


def build_parser(topics) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adaprune-edu quiz", description=__doc__.splitlines()[0].replace("``", ""))
    parser.add_argument("--mode", choices=("drill", "interview"), default="drill",
                        help="flash-card drill, or a mock interview with model answers and key points")
    parser.add_argument("--lang", choices=LANGUAGES, default=None,
                        help="language (default: both for the drill, zh for the interview)")
    parser.add_argument("--n", type=int, default=None, help="cards in this session (default 10; interview 3)")
    parser.add_argument("--time", type=float, default=None, dest="time_limit",
                        help="interview: seconds per answer, shown as a countdown")
    parser.add_argument("--topic", choices=sorted(topics), default=None, help="drill: only cards of this topic")
    parser.add_argument("--seed", type=int, default=None, help="order of new cards (default: session number)")
    parser.add_argument("--progress-file", default=str(DEFAULT_PROGRESS_PATH),
                        help="JSON file with your FSRS review state (default %(default)s)")
    parser.add_argument("--reset", action="store_true", help="forget all progress")
    parser.add_argument("--export-anki", metavar="FILE.apkg", default=None,
                        help="write the deck as an Anki package and exit")
    parser.add_argument("--width", type=int, default=None,
                        help="wrap text to this many columns, 0 = never (default: the terminal's width, capped at "
                             "100; no wrapping when the output is not a terminal)")
    return parser


def _read(stdin, stdout, prompt: str, lower: bool = True):
    """One answer line, stripped (lower-cased if ``lower``); ``None`` at end of input."""
    stdout.write(prompt)
    stdout.flush()
    line = stdin.readline()
    if line == "":
        stdout.write("\n")
        return None
    return line.strip().lower() if lower else line.strip()


def _is_terminal(stream) -> bool:
    return hasattr(stream, "isatty") and stream.isatty() and hasattr(stream, "fileno")


def timed_read(stdin, stdout, prompt: str, limit, lang: str):
    """Read one line while a countdown runs; return ``(line or None, seconds taken)``.

    On a terminal the countdown is redrawn once a second on the line above the prompt (the cursor
    is saved and restored, so what is being typed is not disturbed); when time is up a notice is
    shown and the line is still read. Without a terminal (pipes, tests) the limit is only reported.
    """
    start = time.monotonic()
    if limit is None or not (_is_terminal(stdin) and _is_terminal(stdout)):
        line = _read(stdin, stdout, prompt, lower=False)
        return line, time.monotonic() - start
    stdout.write(message(lang, "remaining", seconds=int(limit)) + "\n" + prompt)
    stdout.flush()
    warned = False
    while True:
        ready, _, _ = select.select([stdin], [], [], 0.5)
        if ready:
            line = stdin.readline()
            return (None if line == "" else line.strip()), time.monotonic() - start
        left = limit - (time.monotonic() - start)
        text = message(lang, "remaining", seconds=max(0, int(left + 0.999)))
        if left <= 0 and not warned:
            text, warned = message(lang, "time_up"), True
        elif warned:
            continue
        stdout.write(f"\0337\033[1A\r{text}\033[K\0338")  # save cursor, line up, redraw, restore
        stdout.flush()


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
        seen = "new" if not session.state.seen(card.id) else f"due {session.state.due(card.id):%Y-%m-%d}"
        stdout.write(f"\n[{session.position + 1}/{total}] {card.topic} ({card.source}), {seen}\n"
                     f"{wrapped(question_text(card, lang))}\n")
        answer = _read(stdin, stdout, "[Enter] reveal > ")
        while answer not in (None, "", "q", *MARKS):
            stdout.write(f"Unknown key {answer!r}. {HELP_LINE}\n")
            answer = _read(stdin, stdout, "> ")
        if answer == "":
            session.reveal()
            stdout.write(wrapped(answer_text(card, lang)) + "\n")
            answer = _read(stdin, stdout, "k = known, a = again, h = hard, e = easy, q = quit > ")
            while answer not in (None, "q", *MARKS):
                stdout.write(f"Unknown key {answer!r}. Type k, a, h, e or q.\n")
                answer = _read(stdin, stdout, "> ")
        if answer in (None, "q"):
            return
        due = session.mark(MARKS[answer])
        save()
        stdout.write(f"-> next review {due:%Y-%m-%d %H:%M} UTC\n")


def interview(session: InterviewSession, save, stdin, stdout, width: int = 0) -> None:
    """Run the mock interview ``session`` round by round; ``save()`` after each round's key points."""
    lang = session.lang

    def say(text: str) -> None:
        stdout.write((fill_lines(text, width) if width else text) + "\n")

    say(message(lang, "title", n=len(session.queue)) + " " + message(lang, "quit"))
    while len(session.rounds) < len(session.queue):
        card = session.ask()
        heading = message(lang, "question", i=len(session.rounds), n=len(session.queue), source=card.source,
                          topic=card.topic)
        say(f"\n{heading}")
        say(question_text(card, lang))
        limit = session.time_limit
        say(message(lang, "prompt") + (" " + message(lang, "time_limit", seconds=f"{limit:g}") if limit else ""))
        text, seconds = timed_read(stdin, stdout, "> ", limit, lang)
        if text is None or text.lower() == "q":
            session.rounds.pop()
            return
        session.answer(text, seconds)
        took = message(lang, "took", seconds=seconds)
        if limit and seconds > limit:
            took += message(lang, "over_time", seconds=seconds - limit)
        say(f"({took})\n\n== {message(lang, 'model')} ==")
        say(sections_text([section for section in interview_sections(card, lang) if isinstance(section[1], str)]))
        points = card.interview.key_points
        code = "zh" if lang in ("zh", "both") else "en"
        say(message(lang, "checklist"))
        say("\n".join(f"  [{i}] {point.text(code)}" for i, point in enumerate(points, start=1)))
        ticks = None
        while ticks is None:
            line = _read(stdin, stdout, message(lang, "tick"))
            if line is None or line == "q":
                session.rounds.pop()
                return
            ticks = parse_ticks(line, len(points))
            if ticks is None:
                say(message(lang, "bad_tick", text=line, n=len(points)))
        session.tick(ticks)
        save()
        say(message(lang, "covered", covered=len(ticks), total=len(points)))
        follow_up = session.follow_up()
        say(f"\n{message(lang, 'follow_up')} {follow_up.text('question', code)}")
        text, _ = timed_read(stdin, stdout, "> ", None, lang)
        say(f"{message(lang, 'follow_up_answer')} {follow_up.text('answer', code)}")
        verdict = None if text is None or text.lower() == "q" else _read(stdin, stdout, message(lang, "had_it"))
        while verdict not in (None, "y", "n", "q"):
            say(message(lang, "bad_yes_no"))
            verdict = _read(stdin, stdout, message(lang, "had_it"))
        if verdict in (None, "q"):
            return
        session.follow_up_result(verdict == "y", text)


def _export(path, stdout) -> int:
    from .anki import export_anki

    try:
        written, count = export_anki(path)
    except (OSError, ValueError) as exc:
        print(f"adaprune-edu quiz: cannot write the Anki package {path}: {exc}", file=sys.stderr)
        return 1
    stdout.write(f"Wrote {count} notes to {written}. In Anki: File > Import; importing again updates the notes.\n")
    return 0


def main(argv=None, stdin=None, stdout=None, clock=None) -> int:
    stdin = sys.stdin if stdin is None else stdin
    stdout = sys.stdout if stdout is None else stdout
    deck = load_deck()
    args = build_parser(deck.topics).parse_args(argv)
    if args.export_anki:
        return _export(args.export_anki, stdout)
    interviewing = args.mode == "interview"
    n = args.n if args.n is not None else (3 if interviewing else 10)
    lang = args.lang or ("zh" if interviewing else "both")
    problems = []
    if n < 1:
        problems.append(f"--n {n} must be at least 1")
    if args.width is not None and args.width != 0 and args.width < 20:
        problems.append(f"--width {args.width} must be 0 (no wrapping) or at least 20")
    if args.seed is not None and args.seed < 0:
        problems.append(f"--seed {args.seed} must be >= 0")
    if args.time_limit is not None and (not interviewing or args.time_limit <= 0):
        problems.append(f"--time {args.time_limit:g} needs --mode interview and a number of seconds > 0")
    if interviewing and args.topic:
        problems.append("--topic applies to the drill; the interview asks the seven questions and two exercises")
    if problems:
        print(f"adaprune-edu quiz: {problems[0]}", file=sys.stderr)
        return 2
    try:
        if args.reset:
            state = ReviewState()
            stdout.write(f"Progress reset ({args.progress_file}).\n")
        else:
            state, notice = load_progress(args.progress_file, now=clock() if clock else None)
            if notice:
                stdout.write(notice + "\n")
        path = save_progress(state, args.progress_file)
    except OSError as exc:  # a folder in the way, no permission, a full disk...
        print(f"adaprune-edu quiz: cannot use the progress file {args.progress_file}: {exc}. "
              "Choose another with --progress-file.", file=sys.stderr)
        return 1
    width = output_width(args.width, stdout)
    extra = {} if clock is None else {"clock": clock}
    seed = state.session if args.seed is None else args.seed
    if interviewing:
        session = InterviewSession(deck, state, n=n, lang=lang, time_limit=args.time_limit, seed=seed, **extra)
        try:
            interview(session, lambda: save_progress(state, path), stdin, stdout, width)
        except KeyboardInterrupt:
            stdout.write("\nInterrupted.\n")
        state.session += 1
        save_progress(state, path)
        report_path = save_report(session, path)
        stdout.write("\n" + session.report_text() + "\n" + message(lang, "saved", path=report_path) + "\n")
        return 0
    session = DrillSession(deck, state, n=n, topic=args.topic, seed=seed, **extra)
    count = len(session.queue)
    header = f"{deck.title}: {count} card{'' if count == 1 else 's'}. {HELP_LINE}"
    stdout.write((fill(header, width) if width else header) + "\n")
    try:
        drill(session, lang, lambda: save_progress(state, path), stdin, stdout, width)
    except KeyboardInterrupt:
        stdout.write("\nInterrupted.\n")
    session.finish()
    save_progress(state, path)
    summary = session.summary()
    stdout.write(f"\n{fill(summary, width) if width else summary}\nProgress saved to {path}.\n")
    return 0


if os.name == "nt":  # select() on console handles is not available on Windows: no live countdown there
    def timed_read(stdin, stdout, prompt, limit, lang):  # noqa: F811
        start = time.monotonic()
        return _read(stdin, stdout, prompt, lower=False), time.monotonic() - start
