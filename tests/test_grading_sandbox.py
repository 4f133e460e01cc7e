"""``adaprune-edu grade --sandbox bwrap`` against submissions that try to get out of the sandbox.

One batch (``--jobs 2``) of crafted assignment-1 submissions, each trying one escape: read the
solution notebook, write outside, reach the network, signal the grader, exhaust processes or
disk, leave a process behind. Each one either earns exactly what its honest part earns or is
reported (kernel death, errors outside the tests), the batch goes on, and the honest
submissions graded alongside keep their grades.

Safety if the sandbox ever failed: every destructive cell first checks that it runs in a PID
namespace other than this test's (else it refuses, and the test fails on the missing error),
the fork bomb is bounded (2**9 processes at most, each gone after 3 s, under an
``RLIMIT_NPROC`` it sets itself) and the disk filler also needs a file-size limit to be set.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import threading
from pathlib import Path

import nbformat
import pytest
from test_grading import (
    A1,
    A1_EXERCISE,
    A1_POINTS,
    A1_SOLUTION,
    ROOT,
    by_submission,
    code,
    digest,
    notebook,
    points,
    running,
    write,
)

from adaprune_edu.grading import grade
from adaprune_edu.grading.sandbox import unavailable_reason

NO_BWRAP = unavailable_reason()
pytestmark = pytest.mark.skipif(NO_BWRAP is not None, reason=f"no bubblewrap sandbox here: {NO_BWRAP}")

#: the PID namespace of this test: destructive cells run only in another one
OUR_PID_NAMESPACE = os.readlink("/proc/self/ns/pid")
ONLY_IN_A_SANDBOX = (f"import os\nif os.readlink('/proc/self/ns/pid') == {OUR_PID_NAMESPACE!r}:\n"
                     "    raise SystemError('not in a PID namespace of its own: refusing to run')\n")
#: an answer that is right only if the escape worked (``_escaped``), else wrong (0 points, and the
#: gradient check that calls it fails too: an escape that fails earns 5 of 10 points)
IF_ESCAPED = ("def dense_forward(X, W, b):\n"
              "    return (X @ W + b if _escaped else np.zeros((X.shape[0], W.shape[1]))), (X, W)\n")
CONTAINED_SCORE = A1_POINTS["test_dense_backward"] + A1_POINTS["test_numerical_gradient"]
DNS_NAME = "example.org"

READ_SOLUTIONS = """
import os, pathlib
_escaped, _tried = [], {paths!r}
def _ours(text):  # this course's hidden tests (other packages ship nbgrader examples of their own)
    return "BEGIN HIDDEN TESTS" in text and "dense_forward" in text
for _path in _tried:
    try:
        if _ours(pathlib.Path(_path).read_text()):
            _escaped.append(_path)
    except OSError as error:
        print(type(error).__name__, _path)
for _dir, _subdirs, _files in os.walk("/"):
    _subdirs[:] = [d for d in _subdirs if os.path.join(_dir, d) not in ("/proc", "/sys", "/dev")]
    for _name in _files:
        if _name.endswith(".ipynb"):
            try:
                if _ours(pathlib.Path(_dir, _name).read_text()):
                    _escaped.append(os.path.join(_dir, _name))
            except OSError:
                pass
print("hidden tests found:", _escaped)
if not _escaped:
    raise FileNotFoundError("no notebook with hidden tests is readable")
"""

WRITE_OUTSIDE = """
import pathlib
_escaped = []
for _path in {paths!r}:
    try:
        pathlib.Path(_path).write_text("{{}}")
        _escaped.append(_path)
    except OSError as error:
        print(type(error).__name__, _path)
if not _escaped:
    raise PermissionError("nothing outside the sandbox could be written")
"""

NETWORK = """
import socket
_escaped = []
try:
    with socket.create_connection(("127.0.0.1", {port}), timeout=3) as _connection:
        _connection.sendall(b"escaped")
        _escaped.append("127.0.0.1:{port}")
except OSError as error:
    print("connect:", error)
try:
    socket.getaddrinfo({name!r}, 443)
    _escaped.append({name!r})
except OSError as error:
    print("resolve:", error)
if not _escaped:
    raise ConnectionError("no connection and no name resolution")
"""

SIGNAL_GRADER = ONLY_IN_A_SANDBOX + """
import signal
for _pid in {os.getppid(), int(os.environ.get("JPY_PARENT_PID", os.getppid()))}:
    try:
        os.kill(_pid, signal.SIGKILL)
    except OSError as error:
        print("kill", _pid, type(error).__name__)
os.kill(-1, signal.SIGKILL)  # kill -9 -1 from the kernel: every process it may signal
"""

KILL_ALL_FROM_A_SHELL = ONLY_IN_A_SANDBOX + "import subprocess\nsubprocess.run(['sh', '-c', 'kill -9 -1'])\n"

FORK_BOMB = ONLY_IN_A_SANDBOX + """
import resource, signal, time
_hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
resource.setrlimit(resource.RLIMIT_NPROC, (200 if _hard == resource.RLIM_INFINITY else min(200, _hard), _hard))
_kernel, _failure = os.getpid(), None
try:
    for _ in range(9):  # 2**9 processes at most, whatever the limits
        os.fork()
except OSError as error:
    _failure = error
finally:
    if os.getpid() != _kernel:  # a child: never return into the kernel
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        time.sleep(3)
        os._exit(0)
if _failure is not None:
    raise _failure
"""

FILL_DISK = ONLY_IN_A_SANDBOX + """
import resource
if resource.getrlimit(resource.RLIMIT_FSIZE)[0] == resource.RLIM_INFINITY:
    raise SystemError("no file size limit: refusing to write 100 GB")
_block = b"x" * (1 << 20)
with open("/tmp/huge", "wb") as _file:
    for _ in range(100 * 1024):  # 100 GB
        _file.write(_block)
"""

FILL_TMP = ONLY_IN_A_SANDBOX + """
import pathlib
pathlib.Path("/tmp/huge").unlink(missing_ok=True)
for _index in range(3200):  # 3200 files of 32 MB: 100 GB
    pathlib.Path(f"/tmp/part{_index}").write_bytes(b"x" * (32 << 20))
"""

BACKGROUND = """
import subprocess
subprocess.Popen(["setsid", "sleep", {marker!r}])
subprocess.Popen(["sh", "-c", "nohup sleep {marker} >/dev/null 2>&1 &"])
"""


class Listener:
    """A TCP server on 127.0.0.1 that records every connection it accepts."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.accepted = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                connection, address = self.server.accept()
            except OSError:
                continue
            self.accepted.append(address)
            connection.close()

    def close(self):
        self.stopping.set()
        self.thread.join()
        self.server.close()


def escape_attempt(source: str):
    """The solution with ``source`` run after the setup cell and dense_forward right only if it escaped."""
    return notebook(A1_SOLUTION, answers={"dense_forward": IF_ESCAPED}, after={"setup": [code(source)]})


def attack_on_solution(*sources):
    """The solution with cells ``sources`` run after the setup cell (the answers stay right)."""
    return notebook(A1_SOLUTION, after={"setup": [code(source) for source in sources]})


@pytest.fixture(scope="module")
def escapes(tmp_path_factory):
    root = tmp_path_factory.mktemp("sandboxed")
    shutil.copytree(ROOT / "solutions", root / "source")
    subs, out = root / "submissions", root / "out"
    out.mkdir()
    (out / "grades.csv").write_text("from an earlier run\n")
    victim = write(subs / "victim.ipynb", nbformat.read(A1_SOLUTION, as_version=4))
    write(subs / "blank.ipynb", nbformat.read(A1_EXERCISE, as_version=4))
    home_file = Path.home() / f"adaprune-sandbox-test-{secrets.token_hex(4)}.txt"
    source_nb = root / "source" / f"{A1}.ipynb"
    marker = f"{4000 + secrets.randbelow(1000)}.{os.getpid()}"
    listener = Listener()
    write(subs / "read_solutions.ipynb", escape_attempt(READ_SOLUTIONS.format(
        paths=[str(source_nb), str(A1_SOLUTION), str(ROOT / "solutions" / "a2_magnitude_masks.ipynb")])))
    write(subs / "write_outside.ipynb", escape_attempt(WRITE_OUTSIDE.format(
        paths=[str(out / "grades.csv"), str(out / "feedback" / "victim.md"), str(source_nb), str(victim),
               str(home_file)])))
    write(subs / "network.ipynb", escape_attempt(NETWORK.format(port=listener.port, name=DNS_NAME)))
    write(subs / "signal_grader.ipynb", attack_on_solution(SIGNAL_GRADER))
    write(subs / "kill_all.ipynb", attack_on_solution(KILL_ALL_FROM_A_SHELL))
    write(subs / "fork_bomb.ipynb", attack_on_solution(FORK_BOMB))
    write(subs / "fill_disk.ipynb", attack_on_solution(FILL_DISK, FILL_TMP))
    write(subs / "background.ipynb", attack_on_solution(BACKGROUND.format(marker=marker)))
    before = {path.name: digest(path) for path in subs.iterdir()}
    source_before = digest(source_nb)
    try:
        code_ = grade.main([str(subs), "--out", str(out), "--source", str(root / "source"), "--jobs", "2",
                            "--timeout", "30", "--sandbox", "bwrap", "--quiet"])
    finally:
        listener.close()
    yield {"code": code_, "results": by_submission(out), "out": out, "before": before, "subs": subs,
           "source_before": source_before, "source_nb": source_nb, "home_file": home_file, "marker": marker,
           "accepted": listener.accepted}
    home_file.unlink(missing_ok=True)


def _errors(result) -> str:
    return "\n".join(entry["error"] for entry in result["cell_errors"])


def test_the_batch_ran_in_the_sandbox_and_honest_grades_are_unchanged(escapes):
    assert escapes["code"] == 0
    results = escapes["results"]
    assert all(result["sandbox"] == "bwrap" for result in results.values())
    assert points(results["victim.ipynb"]) == A1_POINTS and results["victim.ipynb"]["status"] == "graded"
    assert sum(points(results["blank.ipynb"]).values()) == 0 and results["blank.ipynb"]["status"] == "graded"


def test_the_solution_notebooks_cannot_be_read(escapes):
    result = escapes["results"]["read_solutions.ipynb"]
    assert "no notebook with hidden tests is readable" in _errors(result)
    assert result["score"] == CONTAINED_SCORE and points(result)["test_dense_forward"] == 0


def test_nothing_outside_the_sandbox_can_be_written(escapes):
    result = escapes["results"]["write_outside.ipynb"]
    assert "nothing outside the sandbox could be written" in _errors(result)
    assert result["score"] == CONTAINED_SCORE
    assert digest(escapes["source_nb"]) == escapes["source_before"]
    assert {path.name: digest(path) for path in escapes["subs"].iterdir()} == escapes["before"]
    assert not escapes["home_file"].exists()
    assert (escapes["out"] / "grades.csv").read_text().startswith("submission,assignment,question")
    assert not any("was modified on disk" in note for r in escapes["results"].values() for note in r["notes"])


def test_no_network_not_even_the_hosts_loopback(escapes):
    result = escapes["results"]["network.ipynb"]
    assert "no connection and no name resolution" in _errors(result)
    assert escapes["accepted"] == [], "the server on 127.0.0.1 was reached from the sandbox"
    assert result["score"] == CONTAINED_SCORE


def test_signals_reach_nothing_outside_the_sandbox(escapes):
    result = escapes["results"]["signal_grader.ipynb"]
    # the parent seen from inside is the sandbox's init (not ours to signal); kill(-1) finds no one else
    assert "ProcessLookupError" in _errors(result), result["cell_errors"]
    assert result["status"] == "graded" and points(result) == A1_POINTS


def test_kill_all_from_a_shell_only_kills_the_students_own_kernel(escapes):
    result = escapes["results"]["kill_all.ipynb"]
    assert result["status"] == "kernel_died" and result["score"] == 0, result


def test_a_fork_bomb_hits_the_process_limit(escapes):
    result = escapes["results"]["fork_bomb.ipynb"]
    assert "BlockingIOError" in _errors(result) and "Resource temporarily unavailable" in _errors(result)
    assert result["status"] == "graded" and points(result) == A1_POINTS


def test_a_100_gb_file_hits_the_file_size_and_tmp_limits(escapes):
    result = escapes["results"]["fill_disk.ipynb"]
    assert "File too large" in _errors(result), result["cell_errors"]
    assert "No space left on device" in _errors(result), result["cell_errors"]
    assert result["status"] == "graded" and points(result) == A1_POINTS


def test_background_processes_die_with_the_sandbox(escapes):
    result = escapes["results"]["background.ipynb"]
    assert result["cell_errors"] == [] and points(result) == A1_POINTS
    assert running(escapes["marker"]) == [], "a process started in the sandbox outlived it"


def test_bwrap_required_but_missing_is_misuse(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(grade, "unavailable_reason", lambda: "no bwrap in this test")
    (tmp_path / "sub.ipynb").write_text("{}")
    argv = [str(tmp_path / "sub.ipynb"), "--out", str(tmp_path / "out"), "--source", str(ROOT / "solutions")]
    assert grade.main([*argv, "--sandbox", "bwrap"]) == 2
    assert "no bwrap in this test" in capsys.readouterr().err
