"""The ``adaprune-edu`` command: one sub-command per job, each in its own module.

``adaprune-edu demo | lab | explore | quiz | release | check | grade`` -- the arguments
after the sub-command are handed to that module's ``main(argv)``, which owns its options
(``adaprune-edu demo --help``).
"""
from __future__ import annotations

import importlib
import sys

#: sub-command -> (module with ``main(argv) -> int``, one-line help)
COMMANDS = {
    "demo": ("adaprune_edu.demo", "train on an embedded dataset, prune adaptively, print the table"),
    "lab": ("adaprune_edu.lab", "open the course notebooks in JupyterLab (works offline)"),
    "explore": ("adaprune_edu.widgets.app", "the interactive pruning explorer as a Voila web app"),
    "quiz": ("adaprune_edu.quiz.terminal", "drill the interview deck in the terminal"),
    "release": ("adaprune_edu.grading.release", "generate exercises/ from solutions/"),
    "check": ("adaprune_edu.grading.check", "run your exercise notebook and see your score"),
    "grade": ("adaprune_edu.grading.grade", "grade a batch of submissions into a CSV"),
}


def usage() -> str:
    lines = ["usage: adaprune-edu COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<9}{help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines += ["", "Run 'adaprune-edu COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"adaprune-edu: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
