"""The first program inside a grading sandbox: drop privileges, set resource limits, start ipykernel.

    python -m adaprune_edu.grading.sandbox_kernel --limits '{"NPROC": 64, ...}' [--uid N] -f CONNECTION_FILE

:mod:`.sandbox` runs it as the sandbox's command. ``--uid N`` (given when the grader runs as
root): switch to user and group ``N`` with no supplementary groups, and check that no
capability is left, before anything else. ``--limits``: ``{"NPROC": n, "AS": bytes, ...}``,
each set as ``RLIMIT_<NAME>`` with soft = hard, so student code cannot raise them. Everything
after these options is ipykernel's command line. If a step fails, the kernel does not start.
"""
from __future__ import annotations

import json
import os
import resource
import sys


def drop_privileges(uid: int) -> None:
    """Become ``uid``:``uid`` for good (real, effective and saved ids) and verify no capability is left."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getgroups():
        raise SystemExit("adaprune-edu sandbox: could not switch user")
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("CapPrm:", "CapEff:", "CapAmb:")) and int(line.split()[1], 16):
                raise SystemExit(f"adaprune-edu sandbox: capabilities left after switching user: {line.strip()}")


def apply_limits(limits: dict) -> None:
    """``setrlimit(RLIMIT_<NAME>, (value, value))`` for every entry."""
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (int(value), int(value)))


def main(argv: list) -> None:
    limits, uid, rest = {}, None, list(argv)
    while rest and rest[0] in ("--limits", "--uid"):
        option, value, rest = rest[0], rest[1], rest[2:]
        if option == "--limits":
            limits = json.loads(value)
        else:
            uid = int(value)
    if uid is not None:
        drop_privileges(uid)
    apply_limits(limits)
    from ipykernel import kernelapp

    sys.argv = ["ipykernel_launcher", *rest]
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main(sys.argv[1:])
