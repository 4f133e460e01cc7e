"""A bubblewrap (``bwrap``) sandbox around one grading kernel, and the kernel manager that starts it.

What the kernel sees inside the sandbox:

- read-only: ``/usr`` (and ``/bin``, ``/lib``... as on the host), the Python installation and the
  virtual environment the grader runs from, and this package's own directory; nothing else of
  the host file system (no ``solutions/``, no submissions, no output folder, no home directory:
  a parent directory of a bound path exists but holds only that path);
- writable, all of them size-limited memory file systems that vanish with the sandbox:
  ``/home/student`` (its home and working directory, empty), ``/tmp``;
- the kernel's connection file (read-only); its ZMQ sockets are IPC socket files in its own
  ``/tmp``, which the grader reaches through ``/proc/<pid>/root`` of the sandbox's first process;
- its own PID namespace (it cannot see or signal any process outside), its own network
  namespace (no network at all, not even the host's loopback), IPC and UTS namespaces;
  ``--die-with-parent``: when the grader's worker dies, the whole sandbox dies with it, and when
  the kernel ends, every process it started ends too (the PID namespace goes away);
- a clean environment (``--clearenv``): no instructor paths or variables reach the kernel.

Resource limits (``setrlimit``, applied by :mod:`.sandbox_kernel` before ipykernel starts): number
of processes and threads, address space, CPU seconds, open files, size of one written file;
plus the size of ``/tmp`` and of the home. When the grader runs as root, the kernel first
switches to an unprivileged user id of its own (a fresh one per sandbox), so that the process
limit is enforced (Linux does not enforce ``RLIMIT_NPROC`` for root) and the kernel has no
root rights over anything it can see.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager

#: the kernel's home and working directory inside the sandbox
HOME = "/home/student"
#: the connection file, bound read-only into the sandbox
CONNECTION_FILE = "/run/adaprune-kernel.json"
#: prefix of the kernel's IPC socket files (``/tmp/.adaprune-kernel-1``...) inside the sandbox
SOCKET_PREFIX = "/tmp/.adaprune-kernel"
#: fresh user ids for the kernel when the grader runs as root: far above any real account
UID_RANGE = (1_000_000_000, 2_000_000_000)
#: environment variables passed on from the grader (they change numbers, not paths)
PASSED_ENV = ("OPENBLAS_CORETYPE", "TZ")


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel (each ``None`` or 0: not limited)."""

    processes: int = 64
    memory_mb: int | None = 4096
    cpu_seconds: int | None = 3600
    open_files: int = 256
    file_size_mb: int = 64
    tmp_mb: int = 256
    home_mb: int = 256

    def rlimits(self) -> dict:
        """``{name: value}`` for :mod:`.sandbox_kernel` (``RLIMIT_<NAME>``, soft = hard)."""
        megabyte = 1024 * 1024
        values = {"NPROC": self.processes, "AS": self.memory_mb and self.memory_mb * megabyte,
                  "CPU": self.cpu_seconds, "NOFILE": self.open_files,
                  "FSIZE": self.file_size_mb and self.file_size_mb * megabyte, "CORE": 0}
        return {name: int(value) for name, value in values.items() if value is not None and (value or name == "CORE")}


def bwrap_executable() -> str | None:
    return shutil.which("bwrap")


def _system_paths() -> list:
    """``--ro-bind`` / ``--symlink`` arguments for the system directories programs need."""
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    for name in ("/etc/ld.so.cache", "/etc/localtime"):  # no /etc/passwd, hosts, resolv.conf...
        args += ["--ro-bind-try", name, name]
    return args


def python_paths() -> list:
    """The directories the kernel's Python needs: installation, virtual environment, this package."""
    package = Path(__file__).resolve().parents[1]
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, str(package),
                  str(Path(sys.executable).resolve().parent.parent)}
    paths = sorted({os.path.realpath(p) for p in candidates if p and os.path.isdir(p)})
    # a directory inside another bound one needs no bind of its own (the package may sit in the venv)
    return [p for p in paths if not any(p != q and p.startswith(q + os.sep) for q in paths)]


def _parents(paths) -> list:
    """Every parent directory of ``paths`` outside /usr, shallowest first (made searchable with --perms)."""
    found = set()
    for path in paths:
        for parent in Path(path).parents:
            if str(parent) not in ("/", "/usr"):
                found.add(str(parent))
    return sorted(found, key=lambda p: (p.count(os.sep), p))


def bwrap_argv(kernel_argv: list, connection_file: str, limits: Limits, drop_to_uid=None) -> list:
    """The ``bwrap ...`` command that runs ``kernel_argv`` in the sandbox.

    Parameters
    ----------
    kernel_argv : list of str
        The command to run inside (it reads the connection file at :data:`CONNECTION_FILE`).
    connection_file : str
        The host path of the kernel's connection file.
    limits : Limits
        Only the sizes of ``/tmp`` and the home are used here.
    drop_to_uid : int or None
        When the grader is root: keep the capabilities to switch user, so that
        :mod:`.sandbox_kernel` can change to this user id before anything else runs.
    """
    bound = python_paths()
    args = [bwrap_executable() or "bwrap", "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox", "--clearenv"]
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": HOME, "LANG": "C.UTF-8",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "MPLCONFIGDIR": "/tmp/.matplotlib", "IPYTHONDIR": "/tmp/.ipython", "PYTHONDONTWRITEBYTECODE": "1"}
    env.update({name: os.environ[name] for name in PASSED_ENV if name in os.environ})
    for name, value in env.items():
        args += ["--setenv", name, value]
    args += _system_paths()
    # The private /tmp and home first, the Python directories after: a checkout or venv under /tmp
    # (CI clones, a learner's scratch copy) stays visible, bound read-only on top of the empty tmpfs.
    args += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(limits.tmp_mb * 1024 * 1024), "--tmpfs", "/tmp",
             "--perms", "0777", "--size", str(limits.home_mb * 1024 * 1024), "--tmpfs", HOME]
    for parent in _parents(bound):
        args += ["--perms", "0755", "--dir", parent]
    for path in bound:
        args += ["--ro-bind", path, path]
    args += ["--perms", "0755", "--dir", os.path.dirname(CONNECTION_FILE),
             "--ro-bind", connection_file, CONNECTION_FILE,
             "--remount-ro", "/", "--chdir", HOME]
    if drop_to_uid is not None:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return args + ["--", *kernel_argv]


@functools.lru_cache(maxsize=None)
def unavailable_reason() -> str | None:
    """``None`` when a bwrap sandbox can be made here, else why not (checked once per process)."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap sandboxes need Linux (this is {sys.platform})"
    if bwrap_executable() is None:
        return "the bwrap command is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    probe = [bwrap_executable(), "--die-with-parent", "--unshare-pid", "--unshare-net", *_system_paths(),
             "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--", "/bin/sh", "-c", "exit 0"]
    try:
        done = subprocess.run(probe, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap could not run: {error}"
    if done.returncode != 0:
        return "bwrap cannot create a sandbox here: " + done.stderr.decode("utf-8", "replace").strip()[:300]
    return None


def kernel_command(limits: Limits, uid=None) -> list:
    """The command run inside the sandbox: :mod:`.sandbox_kernel` with its limits, then ipykernel."""
    command = [sys.executable, "-m", "adaprune_edu.grading.sandbox_kernel", "--limits", json.dumps(limits.rlimits())]
    if uid is not None:
        command += ["--uid", str(uid)]
    return command + ["-f", CONNECTION_FILE]


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs in a bwrap sandbox, connected over IPC sockets.

    ``limits`` must be set before the kernel starts. Interrupts are sent as messages on the
    control channel (a signal would reach ``bwrap``, not the kernel).
    """

    limits: Limits = Limits()

    def __init__(self, limits: Limits = Limits(), **kwargs):
        super().__init__(transport="ipc", ip=SOCKET_PREFIX, **kwargs)
        self.limits = limits
        self.private_dir = tempfile.mkdtemp(prefix="adaprune-kernel-")  # mode 0700: the key stays private
        self.connection_file = os.path.join(self.private_dir, "kernel.json")
        self.uid = secrets.randbelow(UID_RANGE[1] - UID_RANGE[0]) + UID_RANGE[0] if os.geteuid() == 0 else None
        # a kernel spec of our own: nothing is read from the instructor's Jupyter configuration
        self._kernel_spec = KernelSpec(argv=kernel_command(limits, self.uid), display_name="Python (sandboxed)",
                                       language="python", interrupt_mode="message")

    @property
    def ipykernel(self) -> bool:
        return True

    def format_kernel_cmd(self, extra_arguments=None) -> list:
        inner = super().format_kernel_cmd(extra_arguments)
        return bwrap_argv(inner, self.connection_file, self.limits, self.uid)

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        if self.uid is not None:  # the kernel's own user must read it; its directory stays private
            os.chmod(self.connection_file, 0o644)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        shutil.rmtree(self.private_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources

    async def _async_launch_kernel(self, kernel_cmd: list, **kw) -> None:
        """Start bwrap, then point the connection at the sockets inside the sandbox's file system."""
        info_read, info_write = os.pipe()
        kernel_cmd = [kernel_cmd[0], "--info-fd", str(info_write), *kernel_cmd[1:]]
        try:
            await super()._async_launch_kernel(kernel_cmd, pass_fds=(info_write,), **kw)
        finally:
            os.close(info_write)
        try:
            child = _read_child_pid(info_read)
        finally:
            os.close(info_read)
        self.ip = f"/proc/{child}/root{SOCKET_PREFIX}"


def _read_child_pid(descriptor: int, timeout: float = 30.0) -> int:
    """The host PID of the sandbox's first process, from bwrap's ``--info-fd`` JSON."""
    data = b""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return int(json.loads(data.decode())["child-pid"])
        except (ValueError, KeyError):
            pass
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([descriptor], [], [], remaining)[0]:
            raise RuntimeError("bwrap did not report its sandbox process in time")
        chunk = os.read(descriptor, 4096)
        if not chunk:
            raise RuntimeError("bwrap exited before starting the sandbox: " + data.decode("utf-8", "replace"))
        data += chunk
