"""``adaprune-edu grade SUBMISSIONS... --out DIR``: grade a batch of student notebooks.

For every submission (a notebook file, or a directory searched for ``*.ipynb``):

1. read it without trusting it (missing, empty, not JSON, not a notebook: a status, not a crash);
2. find its assignment by the id stamped in its metadata (or, if that was lost, by its cells'
   grade ids), never by its file name;
3. rebuild it from the source notebook (:mod:`.restore`): tests and locked cells from the
   source, hidden tests included, answers from the student;
4. run it in its own kernel (:mod:`.run`) in an empty temporary directory, with a per-cell
   timeout and a memory limit, several submissions at once with ``--jobs``; by default
   (``--sandbox auto``) the kernel runs in a bubblewrap sandbox (:mod:`.sandbox`) where bwrap
   works, and otherwise unsandboxed with a warning on stderr and in ``grades.json``;
5. score it (:mod:`.scoring`) and (re)write ``DIR/grades.csv``, ``DIR/grades.json`` and
   ``DIR/feedback/<submission>.md`` atomically (:mod:`.report`) after each submission.

The submission files are only read. Results are also cached in ``DIR/.cache``: a rerun
skips a submission whose file, source notebook and options are unchanged (``--redo``
grades everything again), so a crash or a Ctrl-C mid-batch loses only the notebooks that
were running. Source notebooks are read once at the start; if one changes on disk during
the batch it is put back and the change is reported.

Exit status: 0 when grading ran (whatever the grades), 2 for misuse (no such path, no
notebooks found, no source notebooks).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import sys
import time
from pathlib import Path

from .._files import atomic_write_text
from . import leaderboard
from .cells import SubmissionError, assignment_id, grade_id, is_test, questions, read_notebook, read_notebook_bytes
from .report import class_summary, write_report
from .restore import restore_cells
from .run import WorkerPool, run_notebook
from .sandbox import unavailable_reason
from .scoring import clean_error, score_questions

GRADER_VERSION = "4"
SANDBOX_CHOICES = ("auto", "bwrap", "none")
NO_SANDBOX_WARNING = ("WARNING: grading WITHOUT a sandbox ({why}): student code runs with your user rights and can "
                      "read the solutions, change files and use the network; see docs/instructor_guide.md")


def choose_sandbox(requested: str):
    """``(sandbox used, warning or None)`` for ``--sandbox requested``; ``ValueError`` if bwrap fails when required."""
    if requested not in SANDBOX_CHOICES:
        raise ValueError(f"--sandbox={requested!r} must be one of {', '.join(SANDBOX_CHOICES)}")
    if requested == "none":
        return "none", NO_SANDBOX_WARNING.format(why="--sandbox none")
    reason = unavailable_reason()
    if reason is None:
        return "bwrap", None
    if requested == "bwrap":
        raise ValueError(f"--sandbox bwrap: {reason}")
    return "none", NO_SANDBOX_WARNING.format(why=reason)


class Source:
    """One solution notebook, read once: its path, bytes, digest, notebook and questions."""

    def __init__(self, path: Path):
        self.path = path
        self.data = path.read_bytes()
        self.sha256 = hashlib.sha256(self.data).hexdigest()
        self.nb = read_notebook_bytes(self.data, name=str(path))
        self.assignment = assignment_id(self.nb) or path.stem
        self.questions = questions(self.nb)
        self.leaderboard = leaderboard.declaration(self.nb)

    def changed_on_disk(self) -> bool:
        try:
            return self.path.read_bytes() != self.data
        except OSError:
            return True

    def put_back(self) -> None:
        atomic_write_text(self.path, self.data.decode("utf-8"))


def load_sources(source_dir) -> dict:
    """``{assignment id: Source}`` for every notebook directly in ``source_dir``."""
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise FileNotFoundError(f"--source {str(source_dir)!r} is not a directory of solution notebooks")
    sources = {}
    for path in sorted(source_dir.glob("*.ipynb")):
        source = Source(path)
        if source.assignment in sources:
            raise ValueError(f"{path} and {sources[source.assignment].path} are both assignment {source.assignment!r}")
        sources[source.assignment] = source
    if not sources:
        raise FileNotFoundError(f"--source {str(source_dir)!r} holds no .ipynb notebook")
    return sources


def collect_submissions(paths) -> list:
    """Notebook files named directly, plus ``*.ipynb`` found under named directories, in order."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        else:
            found.append(path)  # a missing file is graded as "missing"
    unique, seen = [], set()
    for path in found:
        key = os.path.abspath(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def display_names(paths) -> list:
    """Each path relative to the submissions' common directory (what the CSV shows)."""
    absolute = [os.path.abspath(p) for p in paths]
    if len(absolute) == 1:
        return [Path(absolute[0]).name]
    common = os.path.commonpath([os.path.dirname(p) for p in absolute])
    return [Path(os.path.relpath(p, common)).as_posix() for p in absolute]


def _result(name, assignment, status, message, expected_questions=(), questions_=None, notes=()):
    rows = questions_ if questions_ is not None else [
        {"question": q["question"], "points": 0.0, "max_points": q["max_points"], "status": status,
         "message": message, "failed_at": None} for q in expected_questions]
    return {"submission": name, "assignment": assignment, "status": status, "message": message,
            "questions": rows, "notes": list(notes), "score": sum(q["points"] or 0.0 for q in rows),
            "max_score": sum(q["max_points"] for q in rows),
            "needs_manual_grading": [q["question"] for q in rows if q["status"] == "manual"]}


def identify(nb, sources: dict):
    """The assignment id of ``nb`` and a note on how it was found (``None`` if from the stamp).

    The id stamped in the notebook metadata decides. A notebook without one (an editor or a
    conversion dropped the notebook metadata) is matched by its cells' nbgrader ``grade_id``s:
    the source notebook sharing the most of them, if exactly one does. The file name is never used.
    """
    stamped = assignment_id(nb)
    if stamped is not None:
        return stamped, None
    ids = {grade_id(cell) for cell in nb.cells} - {None}
    shared = {name: len(ids & {grade_id(cell) for cell in source.nb.cells}) for name, source in sources.items()}
    best = max(shared.values(), default=0)
    winners = [name for name, count in shared.items() if count == best]
    if best == 0 or len(winners) != 1:
        return None, None
    return winners[0], (f"the notebook metadata has no assignment id; matched to {winners[0]!r} by its cells' "
                        f"grade_ids ({best} shared)")


def grade_one(path: Path, name: str, sources: dict, options, pool=None) -> dict:
    """Grade one submission; every failure becomes a status in the returned result."""
    expected = sources.get(options.assignment) if options.assignment else None
    expected_questions = expected.questions if expected else ()
    expected_id = options.assignment or ""
    try:
        nb = read_notebook(path)
    except SubmissionError as error:
        return _result(name, expected_id, error.status, error.message, expected_questions)
    found, how = identify(nb, sources)
    if options.assignment and found != options.assignment:
        what = f"assignment {found!r}" if found else "not recognisable as any source assignment"
        return _result(name, expected_id, "wrong_assignment",
                       f"this notebook is {what}, not {options.assignment!r}", expected_questions)
    if found not in sources:
        why = ("it has no adaprune_edu assignment id in its metadata and its cells' grade_ids match no single "
               "source notebook (was it made by adaprune-edu release?)") if found is None \
            else f"assignment {found!r} is not among the source notebooks ({', '.join(sorted(sources))})"
        return _result(name, found or "", "unknown_assignment", why)
    source = sources[found]
    restored, notes = restore_cells(nb, source.nb)
    notes = ([how] if how else []) + notes
    run = run_notebook(restored, timeout=options.timeout, memory_limit_mb=options.memory_limit, pool=pool,
                       sandbox=options.sandbox_used)
    scored = score_questions(restored, run)
    if run["status"] == "grader_error":
        for question in scored:
            question.update(points=None if question["status"] == "manual" else 0.0, status="grader_error",
                            message=run["message"])
    notes += [f"{repair} before a test (tampering with it has no effect)" for repair in run["guard"]]
    status = {"completed": "graded"}.get(run["status"], run["status"])
    result = _result(name, found, status, run["message"], questions_=scored, notes=notes)
    result["sandbox"] = run.get("sandbox", options.sandbox_used)
    result["cell_errors"] = [{"cell": index, "grade_id": grade_id(cell), "error": clean_error(record["error"])[:300]}
                             for index, (cell, record) in enumerate(zip(restored.cells, run["cells"]))
                             if record["error"] and not is_test(cell)]
    if source.leaderboard is not None:
        result["leaderboard"] = leaderboard.entry(source.leaderboard, restored, run, scored)
    return result


def _cache_key(path: Path, sources: dict, options) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        found, _ = identify(read_notebook_bytes(data), sources)
    except SubmissionError:
        found = None
    source_sha = sources[found].sha256 if found in sources else ""
    text = json.dumps([GRADER_VERSION, hashlib.sha256(data).hexdigest(), source_sha, options.timeout,
                       options.memory_limit, options.assignment, options.sandbox_used])
    return hashlib.sha256(text.encode()).hexdigest()


def _cache_path(out_dir: Path, path: Path) -> Path:
    return out_dir / ".cache" / (hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:24] + ".json")


def _cached(out_dir: Path, path: Path, key) -> dict | None:
    if key is None:
        return None
    try:
        entry = json.loads(_cache_path(out_dir, path).read_text())
    except (OSError, ValueError):
        return None
    return entry.get("result") if isinstance(entry, dict) and entry.get("key") == key else None


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="adaprune-edu grade", description="Grade student notebooks into a CSV.")
    parser.add_argument("submissions", nargs="+", help="notebook files or directories holding them")
    parser.add_argument("--out", required=True, help="directory for grades.csv, grades.json and feedback/")
    parser.add_argument("--source", default="solutions", help="directory of solution notebooks (default: solutions)")
    parser.add_argument("--assignment", default=None, help="grade only this assignment; others get 'wrong_assignment'")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks graded at once (default 1)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds per cell before it is interrupted (default 60)")
    parser.add_argument("--memory-limit", type=int, default=4096, help="kernel memory limit in MB (default 4096)")
    parser.add_argument("--sandbox", choices=SANDBOX_CHOICES, default="auto",
                        help="run each kernel in a bubblewrap sandbox: auto (default: where bwrap works, else "
                             "unsandboxed with a warning), bwrap (required), none (explicit opt-out)")
    parser.add_argument("--redo", action="store_true", help="grade again even if a cached result is up to date")
    parser.add_argument("--quiet", action="store_true",
                        help="print only the final line (no per-submission lines, no per-question summary)")
    return parser.parse_args(argv)


def _misuse(message: str) -> int:
    print(f"adaprune-edu grade: {message}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    options = parse_args(argv)
    if options.jobs < 1:
        return _misuse(f"--jobs={options.jobs} must be at least 1")
    if options.timeout <= 0:
        return _misuse(f"--timeout={options.timeout} must be a positive number of seconds")
    if options.memory_limit < 0:
        return _misuse(f"--memory-limit={options.memory_limit} must be >= 0 MB (0: no limit)")
    try:
        options.sandbox_used, sandbox_warning = choose_sandbox(options.sandbox)
    except ValueError as error:
        return _misuse(str(error))
    if sandbox_warning:
        print(sandbox_warning, file=sys.stderr)
    sandbox = {"requested": options.sandbox, "used": options.sandbox_used, "warning": sandbox_warning}
    try:
        sources = load_sources(options.source)
    except (FileNotFoundError, ValueError, SubmissionError) as error:
        return _misuse(str(error))
    if options.assignment and options.assignment not in sources:
        return _misuse(f"--assignment {options.assignment!r} is not one of {', '.join(sorted(sources))}")
    if not any(Path(p).exists() for p in options.submissions):
        return _misuse("none of the submission paths exists: " + ", ".join(options.submissions))
    paths = collect_submissions(options.submissions)
    if not paths:
        return _misuse("no .ipynb notebooks found in " + ", ".join(options.submissions))
    out_dir = Path(options.out)
    if out_dir.exists() and not out_dir.is_dir():
        return _misuse(f"--out {str(out_dir)!r} exists and is not a directory")
    if out_dir.resolve() == Path(options.source).resolve():
        return _misuse("--out must not be the source directory")
    out_dir.mkdir(parents=True, exist_ok=True)

    names = display_names(paths)
    keys = [_cache_key(path, sources, options) for path in paths]
    results = [None] * len(paths)
    todo = []
    for index, (path, key) in enumerate(zip(paths, keys)):
        cached = None if options.redo else _cached(out_dir, path, key)
        if cached is not None:
            results[index] = dict(cached, submission=names[index])
        else:
            todo.append(index)
    skipped = len(paths) - len(todo)
    if skipped and not options.quiet:
        print(f"{skipped} submission(s) unchanged since the last run: kept their grades (--redo to grade again)")

    def finish(index: int, result: dict) -> None:
        changed = [source for source in sources.values() if source.changed_on_disk()]
        for source in changed:
            source.put_back()
            result["notes"].append(f"source notebook {source.path.name} was modified on disk while this "
                                   "submission ran; it was put back (grading used the copy read at the start)")
            print(f"warning: {source.path} changed during grading and was restored", file=sys.stderr)
        results[index] = result
        if keys[index] is not None:
            atomic_write_text(_cache_path(out_dir, paths[index]),
                              json.dumps({"key": keys[index], "path": os.path.abspath(paths[index]), "result": result}))
        write_report(out_dir, [r for r in results if r is not None], sandbox=sandbox)

    start = time.perf_counter()
    done = 0
    with WorkerPool(min(options.jobs, max(1, len(todo)))) as workers, \
            concurrent.futures.ThreadPoolExecutor(max_workers=options.jobs) as pool:
        futures = {pool.submit(grade_one, paths[i], names[i], sources, options, workers): i for i in todo}
        for future in concurrent.futures.as_completed(futures):
            index = futures[future]
            try:
                result = future.result()
            except Exception as error:  # a bug in the grader must not stop the batch
                result = _result(names[index], "", "grader_error", f"{type(error).__name__}: {error}")
            finish(index, result)
            done += 1
            if not options.quiet:
                print(f"[{done}/{len(todo)}] {result['submission']}: {result['assignment'] or '?'} "
                      f"{result['score']:g}/{result['max_score']:g} {result['status']}", flush=True)

    final = [r for r in results if r is not None]
    for index, result in enumerate(results):  # rewrite every entry: nothing written by student code survives
        if result is not None and keys[index] is not None:
            atomic_write_text(_cache_path(out_dir, paths[index]),
                              json.dumps({"key": keys[index], "path": os.path.abspath(paths[index]), "result": result}))
    write_report(out_dir, final, sandbox=sandbox)
    boards = {name: source.leaderboard for name, source in sources.items() if source.leaderboard is not None}
    if leaderboard.write_leaderboard(out_dir, final, boards) and not options.quiet:
        print(f"wrote {out_dir / 'leaderboard.csv'}")
    if not options.quiet and class_summary(final):
        print(class_summary(final))
    print(f"graded {len(todo)} and kept {skipped} submission(s) in {time.perf_counter() - start:.1f} s "
          f"(sandbox: {options.sandbox_used}); wrote {out_dir / 'grades.csv'}")
    if sandbox_warning:
        print(sandbox_warning, file=sys.stderr)
    return 0
