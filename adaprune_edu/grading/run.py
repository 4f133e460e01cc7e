"""Execute one notebook in a fresh kernel and record what every cell did.

:func:`run_notebook` starts its own worker process (``python -m adaprune_edu.grading.run``)
which starts the kernel, so a notebook that kills its kernel, eats memory or loops forever
cannot take the grader down with it. The worker gets its job on stdin and answers on
stdout, on one line that begins with a random token the kernel never sees.

Inside the worker, :class:`GradingClient` (nbclient) runs the cells one by one with
``allow_errors=True`` (:func:`_execute` sets up, :func:`_run_cells` walks the cells):

- with ``sandbox="bwrap"`` the kernel runs in a bubblewrap sandbox (:mod:`.sandbox`: its own
  file system view, no network, its own PID namespace, resource limits); without it, in the
  worker's environment;
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
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbclient.util import ensure_async

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
#: seconds a grader cell (guard install, restore, audit) may take, whatever ``--timeout`` is: the
#: install imports NumPy and the package, several seconds on a busy machine
GRADER_CELL_TIMEOUT = 120
GRADER_CELL = "adaprune_edu_grader_cell"


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


def _empty_record() -> dict:
    return {"ran": False, "status": None, "error": "", "timed_out": False, "stdout": ""}


def _guard_lines(text: str) -> list:
    """The guard's report lines in a grader cell's output, without the marker."""
    return [line[len(MARK):].strip() for line in text.splitlines() if line.startswith(MARK)]


class GradingClient(NotebookClient):
    """nbclient with per-cell reply capture, bounded output and interrupt-then-kill on timeout.

    ``make_kernel_manager`` (optional) builds the kernel manager, e.g. a sandboxed one;
    by default nbclient's own. State of the run (per instance): ``current`` is the index of the
    cell executing (-1 for a grader cell), ``timed_out`` / ``interrupted`` the cells that hit
    the timeout once / twice, ``replies`` the kernel's reply status per cell, ``output_bytes``
    the output kept per cell.
    """

    def __init__(self, nb, make_kernel_manager=None, **kwargs):
        super().__init__(nb, **kwargs)
        self.make_kernel_manager = make_kernel_manager
        self.current = None
        self.timed_out, self.interrupted, self.replies, self.output_bytes = set(), set(), {}, {}
        self.on_cell_executed = self._keep_reply
        self.timeout_func = self._cell_timeout

    def create_kernel_manager(self):
        if self.make_kernel_manager is None:
            return super().create_kernel_manager()
        self.km = self.make_kernel_manager()
        self.owns_km = True
        return self.km

    def _cell_timeout(self, cell) -> float:
        return max(self.timeout, GRADER_CELL_TIMEOUT) if cell.metadata.get(GRADER_CELL) else self.timeout

    def _keep_reply(self, cell, cell_index, execute_reply):
        self.replies[cell_index] = execute_reply.get("content", {}).get("status", "error")

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
        """First timeout of a cell: interrupt it. Second (it ignored the interrupt): kill the kernel."""
        index = self.current
        self.timed_out.add(index)
        if index in self.interrupted:
            await ensure_async(self.km.shutdown_kernel(now=True))
            return None
        self.interrupted.add(index)
        await ensure_async(self.km.interrupt_kernel())
        return None

    def run_grader_cell(self, source: str, index: int) -> str:
        """Run code that is not part of the notebook; return its stdout, raise if it failed."""
        cell = nbformat.v4.new_code_cell(source, metadata={GRADER_CELL: True})
        self.current = index
        # nbclient stores the executed cell at its index in the notebook: give it a slot of its
        # own past the end, or it would overwrite the notebook's last cell (a last test never ran)
        self.nb.cells.append(cell)
        try:
            self.execute_cell(cell, len(self.nb.cells) - 1, store_history=False)
        finally:
            self.nb.cells.pop()
        if _error_text(cell):
            raise RuntimeError(f"grader cell failed: {_error_text(cell)}")
        return _stdout_text(cell)

    def run_notebook_cell(self, cell, index: int) -> dict:
        """Run notebook cell ``index``; return its record (see the module docstring)."""
        self.current = index
        started = time.perf_counter()
        self.execute_cell(cell, index)
        return {"ran": True, "seconds": round(time.perf_counter() - started, 3),
                "status": self.replies.get(index, "error"), "error": _error_text(cell),
                "error_line": _error_line(cell), "timed_out": index in self.timed_out, "stdout": _stdout_text(cell)}


def _restore_before_test(client: GradingClient, index: int, records: list, outcome: dict) -> bool:
    """Undo student changes before test cell ``index``; ``False`` if the guard itself was broken."""
    try:
        repairs = client.run_grader_cell(GUARD_RESTORE, index)
    except RuntimeError as error:
        records[index].update(ran=True, status="error", error=f"GraderIntegrityError: {error}")
        outcome["guard"].append(f"before {index}: {error}")
        return False
    outcome["guard"] += _guard_lines(repairs)
    return True


def _audit_after_test(client: GradingClient, index: int) -> list:
    """What student code changed while test cell ``index`` ran (then the test does not count)."""
    try:
        return _guard_lines(client.run_grader_cell(GUARD_AUDIT, index))
    except RuntimeError as error:
        return [f"the grader's check after the test failed ({error})"]


def _run_cells(client: GradingClient, nb, job: dict, records: list, outcome: dict, started: float) -> None:
    """Install the guard, then run every code cell, restoring before and auditing after each test."""
    guarded = job.get("guard", True)
    if guarded:
        client.run_grader_cell(GUARD_INSTALL.format(memory_limit_mb=job.get("memory_limit_mb")), -1)
        outcome["guard_install_seconds"] = round(time.perf_counter() - started, 3)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        test = guarded and is_test(cell)
        if test and not _restore_before_test(client, index, records, outcome):
            continue
        records[index].update(client.run_notebook_cell(cell, index))
        if test:
            records[index]["tampered"] = _audit_after_test(client, index)


def hard_limit_seconds(timeout: float, n_code_cells: int) -> float:
    """Wall time (and, in the sandbox, CPU time) a whole notebook may take: twice every cell's timeout."""
    return 2 * timeout * (n_code_cells + 2) + 60 + GRADER_CELL_TIMEOUT


def _kernel_manager_factory(job: dict, n_code_cells: int):
    """``None`` (nbclient's default kernel manager) or a function making a sandboxed one."""
    if job.get("sandbox", "none") == "none":
        return None
    from .sandbox import Limits, SandboxKernelManager

    limits = Limits(memory_mb=job.get("memory_limit_mb") or None,
                    cpu_seconds=int(hard_limit_seconds(job["timeout"], n_code_cells)))
    return lambda: SandboxKernelManager(limits)


def _enter_working_directory(job: dict):
    """Make the worker's (and an unsandboxed kernel's) environment; return (directory, temporary or None)."""
    temporary = None if job.get("cwd") else tempfile.mkdtemp(prefix="adaprune-grade-")
    workdir = job.get("cwd") or temporary
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"
    os.environ["PWD"] = workdir
    os.environ.pop("OLDPWD", None)
    os.chdir(workdir)
    return workdir, temporary


def _record_death(client: GradingClient, records: list, outcome: dict, error) -> None:
    outcome.update(status="kernel_died", message=f"the kernel died ({error})")
    if client.current is not None and client.current >= 0:
        records[client.current].update(ran=True, status="error", error="DeadKernelError: the kernel died",
                                       timed_out=client.current in client.timed_out)


def _execute(job: dict) -> dict:
    """Run the notebook of ``job`` in this process (the worker); see the module docstring."""
    nb = nbformat.reads(job["notebook"], as_version=4)
    n_code = sum(cell.cell_type == "code" for cell in nb.cells)
    records = [_empty_record() for _ in nb.cells]
    outcome = {"status": "completed", "message": "", "guard": [], "sandbox": job.get("sandbox", "none")}
    workdir, temporary = _enter_working_directory(job)
    client = GradingClient(nb, make_kernel_manager=_kernel_manager_factory(job, n_code), timeout=job["timeout"],
                           allow_errors=True, interrupt_on_timeout=True, kernel_name="python3",
                           resources={"metadata": {"path": workdir}}, shutdown_kernel="immediate")
    started = time.perf_counter()
    kernel_group = None
    try:
        with client.setup_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL):
            outcome["kernel_start_seconds"] = round(time.perf_counter() - started, 3)
            kernel_group = getattr(client.km.provisioner, "pgid", None)
            sys.stderr.write(f"{KERNEL_GROUP} {kernel_group}\n")  # so the parent can clean up if it kills us
            sys.stderr.flush()
            _run_cells(client, nb, job, records, outcome, started)
    except DeadKernelError as error:
        _record_death(client, records, outcome, error)
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

    def run(self, nb, timeout: float = 60, memory_limit_mb=4096, guard: bool = True, cwd=None,
            sandbox: str = "none") -> dict:
        """Execute ``nb``; see :func:`run_notebook`."""
        if self.process is None or self.process.poll() is not None:
            self._start()
        token = secrets.token_hex(16)
        job = {"notebook": nbformat.writes(nb), "timeout": timeout, "memory_limit_mb": memory_limit_mb,
               "guard": guard, "cwd": None if cwd is None else str(cwd), "sandbox": sandbox, "token": token}
        n_code = sum(cell.cell_type == "code" for cell in nb.cells)
        deadline = time.monotonic() + hard_limit_seconds(timeout, n_code)
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


def run_notebook(nb, timeout: float = 60, memory_limit_mb=4096, guard: bool = True, cwd=None, pool=None,
                 sandbox: str = "none") -> dict:
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
    sandbox : {"none", "bwrap"}
        ``"bwrap"``: the kernel runs in a bubblewrap sandbox (:mod:`.sandbox`; ``cwd`` is then
        not used: the kernel works in an empty directory of its own).

    Returns
    -------
    dict with ``status`` ("completed", "kernel_died", "grader_error"), ``message``,
    ``guard`` (list of repairs), ``sandbox`` and ``cells`` (one record per notebook cell).
    """
    if sandbox not in ("none", "bwrap"):
        raise ValueError(f"sandbox={sandbox!r} must be 'none' or 'bwrap'")
    options = {"timeout": timeout, "memory_limit_mb": memory_limit_mb, "guard": guard, "cwd": cwd, "sandbox": sandbox}
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
