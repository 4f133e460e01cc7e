"""Execute one notebook in a fresh kernel and record what every cell did.

:func:`run_notebook` starts its own worker process (``python -m adaprune_edu.grading.run``)
which starts the kernel, so a notebook that kills its kernel, eats memory or loops forever
cannot take the grader down with it. The worker gets its job on stdin and answers on
stdout, on one line that begins with a random token the kernel never sees.

Inside the worker, nbclient runs the cells one by one with ``allow_errors=True``:

- the kernel's working directory is an empty temporary directory (or the directory given
  by :mod:`.check`), its ``PWD``/``OLDPWD`` are scrubbed, and its own stdout/stderr go to
  ``/dev/null``; the kernel is never told where the source notebooks or the output are;
- before the first cell the :mod:`.guard` snapshot is taken and the memory limit applied;
  before every test cell the guard restores what student code replaced, and after it the
  guard reports what student code replaced *during* the test (``tampered``);
- a cell that runs longer than ``timeout`` seconds is interrupted (``KeyboardInterrupt``),
  and the next cells still run; if it ignores the interrupt for another ``timeout``
  seconds, the kernel is killed;
- a cell keeps at most 1 MB of output (a print loop cannot fill the grader's memory);
- a dead kernel (``os._exit``, a crash) ends the run: the cells not reached are reported
  as not run;
- after the run, whatever is left of the kernel's process group (processes the student's
  code started) is killed.

Each cell's record: ``ran``, ``status`` (the kernel's reply: ``ok`` / ``error`` /
``aborted``), ``error`` (``"Name: message"`` of the error, if any), ``error_line`` (the line of the
cell that raised, or ``None``), ``timed_out`` and
``stdout`` (the first few KB, for the feedback).
"""
from __future__ import annotations

import json
import os
import queue
import re
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import nbformat

from .cells import is_test
from .guard import MARK

GUARD_INSTALL = ("import adaprune_edu.grading.guard as _adaprune_guard\n"
                 "_adaprune_guard.install(memory_limit_mb={memory_limit_mb!r})\n"
                 "del _adaprune_guard")
GUARD_RESTORE = "__import__('adaprune_edu.grading.guard', fromlist=['restore']).restore()"
GUARD_AUDIT = "__import__('adaprune_edu.grading.guard', fromlist=['audit']).audit()"
STDOUT_LIMIT = 4000
#: output kept per cell while it runs: a cell printing in a loop cannot fill the grader's memory
OUTPUT_LIMIT = 1_000_000
OUTPUT_NOTICE = "\n[adaprune-edu: output beyond 1 MB not kept]\n"
KERNEL_GROUP = "adaprune-edu kernel process group:"


def _kill_group(group) -> None:
    """SIGKILL a process group, if there is one left."""
    if group and str(group) != "None" and int(group) != os.getpgid(0):
        try:
            os.killpg(int(group), signal.SIGKILL)
        except (ProcessLookupError, PermissionError, ValueError):
            pass


def _error_text(cell) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"
    return ""


ANSI_CODE = re.compile(r"\x1b\[[0-9;]*m")
CELL_FRAME = re.compile(r"^Cell In\[\d+\], line (\d+)")


def _error_line(cell):
    """The line of ``cell`` (1-based) that raised, from the traceback's outermost frame, or ``None``.

    The outermost frame of an error raised while a cell runs is the cell itself
    (``Cell In[5], line 12``), even when the error comes from a function the cell called.
    """
    for output in cell.get("outputs", []):
        if output.get("output_type") != "error":
            continue
        for entry in output.get("traceback", []):
            found = CELL_FRAME.match(ANSI_CODE.sub("", entry).strip())
            if found:
                return int(found.group(1))
    return None


def _stdout_text(cell) -> str:
    text = "".join(output.get("text", "") for output in cell.get("outputs", [])
                   if output.get("output_type") == "stream")
    return text[:STDOUT_LIMIT]


def _execute(job: dict) -> dict:
    """Run the notebook of ``job`` in this process (the worker); see the module docstring."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError
    from nbclient.util import ensure_async

    class Client(NotebookClient):
        """nbclient with per-cell reply capture and interrupt-then-kill on timeout."""

        current = None
        timed_out: set = set()
        interrupted: set = set()
        replies: dict = {}

        def output(self, outs, msg, display_id, cell_index):
            """Keep at most OUTPUT_LIMIT bytes of output per cell (errors always), then one notice."""
            if msg["msg_type"] in ("stream", "display_data", "execute_result", "update_display_data"):
                used = self.output_bytes.get(cell_index, 0)
                self.output_bytes[cell_index] = used + len(json.dumps(msg.get("content", {})))
                if self.output_bytes[cell_index] > OUTPUT_LIMIT:
                    if used <= OUTPUT_LIMIT:
                        outs.append(nbformat.v4.new_output("stream", name="stderr", text=OUTPUT_NOTICE))
                    return None
            return super().output(outs, msg, display_id, cell_index)

        async def _async_handle_timeout(self, timeout, cell=None):
            index = self.current
            self.timed_out.add(index)
            if index in self.interrupted:  # the cell ignored the interrupt: kill the kernel
                await ensure_async(self.km.shutdown_kernel(now=True))
                return None
            self.interrupted.add(index)
            await ensure_async(self.km.interrupt_kernel())
            return None

    nb = nbformat.reads(job["notebook"], as_version=4)
    temporary = None if job.get("cwd") else tempfile.mkdtemp(prefix="adaprune-grade-")
    workdir = job.get("cwd") or temporary
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    os.environ["PWD"] = workdir
    os.environ.pop("OLDPWD", None)
    os.chdir(workdir)
    client = Client(nb, timeout=job["timeout"], allow_errors=True, interrupt_on_timeout=True,
                    kernel_name="python3", resources={"metadata": {"path": workdir}}, shutdown_kernel="immediate")
    client.timed_out, client.interrupted, client.replies, client.output_bytes = set(), set(), {}, {}

    def on_executed(cell, cell_index, execute_reply):
        client.replies[cell_index] = execute_reply.get("content", {}).get("status", "error")

    client.on_cell_executed = on_executed
    records = [{"ran": False, "status": None, "error": "", "timed_out": False, "stdout": ""} for _ in nb.cells]
    outcome = {"status": "completed", "message": "", "guard": []}

    def hidden(source, index):
        """Run a grader cell (not part of the notebook); returns its stdout, raises if it failed."""
        cell = nbformat.v4.new_code_cell(source)
        client.current = index
        client.execute_cell(cell, -1, store_history=False)
        if _error_text(cell):
            raise RuntimeError(f"grader cell failed: {_error_text(cell)}")
        return _stdout_text(cell)

    started = time.perf_counter()
    kernel_group = None
    try:
        with client.setup_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL):
            outcome["kernel_start_seconds"] = round(time.perf_counter() - started, 3)
            kernel_group = getattr(client.km.provisioner, "pgid", None)
            sys.stderr.write(f"{KERNEL_GROUP} {kernel_group}\n")  # so the parent can clean up if it kills us
            sys.stderr.flush()
            if job.get("guard", True):
                hidden(GUARD_INSTALL.format(memory_limit_mb=job.get("memory_limit_mb")), -1)
                outcome["guard_install_seconds"] = round(time.perf_counter() - started, 3)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                if job.get("guard", True) and is_test(cell):
                    try:
                        repairs = hidden(GUARD_RESTORE, index)
                    except RuntimeError as error:  # the guard itself was broken by student code
                        records[index].update(ran=True, status="error", error=f"GraderIntegrityError: {error}")
                        outcome["guard"].append(f"before {index}: {error}")
                        continue
                    outcome["guard"] += [line[len(MARK):].strip() for line in repairs.splitlines()
                                         if line.startswith(MARK)]
                client.current = index
                cell_started = time.perf_counter()
                client.execute_cell(cell, index)
                records[index].update(ran=True, seconds=round(time.perf_counter() - cell_started, 3),
                                      status=client.replies.get(index, "error"), error=_error_text(cell),
                                      error_line=_error_line(cell),
                                      timed_out=index in client.timed_out,
                                      stdout=_stdout_text(cell))
                if job.get("guard", True) and is_test(cell):
                    try:
                        changed = hidden(GUARD_AUDIT, index)
                        records[index]["tampered"] = [line[len(MARK):].strip() for line in changed.splitlines()
                                                      if line.startswith(MARK)]
                    except RuntimeError as error:
                        records[index]["tampered"] = [f"the grader's check after the test failed ({error})"]
    except DeadKernelError as error:
        outcome.update(status="kernel_died", message=f"the kernel died ({error})")
        if client.current is not None and client.current >= 0:
            records[client.current].update(ran=True, status="error", error="DeadKernelError: the kernel died",
                                           timed_out=client.current in client.timed_out)
    except Exception as error:  # kernel failed to start, or a grader cell failed
        outcome.update(status="grader_error", message=f"{type(error).__name__}: {error}"[:500])
    finally:
        _kill_group(kernel_group)  # processes the student's code started in the kernel's session
        os.chdir(tempfile.gettempdir())
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    outcome["cells"] = records
    outcome["seconds"] = round(time.perf_counter() - started, 3)
    return outcome


def _no_result(nb, message: str) -> dict:
    return {"status": "grader_error", "message": message, "guard": [],
            "cells": [{"ran": False, "status": None, "error": "", "timed_out": False, "stdout": ""} for _ in nb.cells]}


class Worker:
    """One long-lived worker process that runs notebooks one after the other, each in a new kernel.

    Keeping the worker alive saves starting Python and importing nbclient for every notebook.
    A worker that dies or overruns its hard time limit is killed and replaced for the next job.
    """

    def __init__(self):
        self.process = None
        self.log = None

    def _start(self) -> None:
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen([sys.executable, "-m", "adaprune_edu.grading.run"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.log, start_new_session=True,
                                        cwd=tempfile.gettempdir())

    def _kill(self) -> None:
        if self.log is not None:  # the kernel runs in its own session: kill it too
            self.log.seek(0)
            groups = [line[len(KERNEL_GROUP):].strip() for line in
                      self.log.read().decode("utf-8", "replace").splitlines() if line.startswith(KERNEL_GROUP)]
            if groups:  # only the current job's kernel can still be running
                _kill_group(groups[-1])
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait()
        self.process = None

    def _log_tail(self) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        return " | ".join(self.log.read().decode("utf-8", "replace").strip().splitlines()[-3:])

    def run(self, nb, timeout: float = 60, memory_limit_mb=4096, guard: bool = True, cwd=None) -> dict:
        """Execute ``nb``; see :func:`run_notebook`."""
        if self.process is None or self.process.poll() is not None:
            self._start()
        token = secrets.token_hex(16)
        job = {"notebook": nbformat.writes(nb), "timeout": timeout, "memory_limit_mb": memory_limit_mb,
               "guard": guard, "cwd": None if cwd is None else str(cwd), "token": token}
        n_code = sum(cell.cell_type == "code" for cell in nb.cells)
        deadline = time.monotonic() + 2 * timeout * (n_code + 2) + 60
        try:
            self.process.stdin.write((json.dumps(job) + "\n").encode())
            self.process.stdin.flush()
        except OSError:
            self._kill()
            return _no_result(nb, "the grading worker could not be started: " + self._log_tail())
        descriptor = self.process.stdout.fileno()  # raw reads: a buffered reader would hide data from select
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(descriptor, selectors.EVENT_READ)
            while True:
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.startswith(token.encode()):
                        return json.loads(line[len(token):].decode())
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(timeout=remaining):
                    self._kill()
                    return _no_result(nb, "the notebook did not finish within the hard time limit")
                chunk = os.read(descriptor, 1 << 20)
                if not chunk:
                    tail = self._log_tail()
                    self._kill()
                    return _no_result(nb, "the grading worker stopped: " + tail)
                buffer += chunk

    def close(self) -> None:
        """Let the worker finish (end of input) and reap it."""
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self._kill()
        self.process = None


class WorkerPool:
    """``size`` workers shared by threads: ``with WorkerPool(2) as pool: pool.run(nb, ...)``."""

    def __init__(self, size: int):
        self.idle = queue.Queue()
        self.workers = [Worker() for _ in range(size)]
        for worker in self.workers:
            self.idle.put(worker)

    def run(self, nb, **options) -> dict:
        worker = self.idle.get()
        try:
            return worker.run(nb, **options)
        finally:
            self.idle.put(worker)

    def close(self) -> None:
        for worker in self.workers:
            worker.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def run_notebook(nb, timeout: float = 60, memory_limit_mb=4096, guard: bool = True, cwd=None, pool=None) -> dict:
    """Execute ``nb`` in a fresh kernel inside a worker process; return the run record.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        Not modified.
    timeout : float
        Seconds per cell before the cell is interrupted.
    memory_limit_mb : int or None
        Address-space limit of the kernel process (0 or None: no limit).
    guard : bool
        Install :mod:`.guard` before the first cell and restore before every test cell.
    cwd : path or None
        The kernel's working directory; ``None``: a new empty temporary directory.
    pool : WorkerPool or None
        Reuse its workers; ``None``: start a worker for this notebook only.

    Returns
    -------
    dict with ``status`` ("completed", "kernel_died", "grader_error"), ``message``,
    ``guard`` (list of repairs) and ``cells`` (one record per notebook cell).
    """
    options = {"timeout": timeout, "memory_limit_mb": memory_limit_mb, "guard": guard, "cwd": cwd}
    if pool is not None:
        return pool.run(nb, **options)
    worker = Worker()
    try:
        return worker.run(nb, **options)
    finally:
        worker.close()


def _worker() -> None:
    """Worker main loop: one JSON job per input line, one tokened JSON result per output line."""
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        result = _execute(job)
        sys.stdout.write("\n" + job["token"] + json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _worker()
