"""Runs inside the student's kernel: undo monkey-patching before every test cell.

The grader executes :func:`install` before the first notebook cell, i.e. before any student
code, and :func:`restore` right before every test cell. :func:`install` records the
``sys.modules`` entries and the attributes of NumPy (all its loaded submodules), of this
package, of ``math`` and
``builtins``, the class dictionaries of the package's classes, and the kernel's hooks
(IPython input transformers, AST transformers, event callbacks, custom exception handlers,
``sys.excepthook``). :func:`restore` puts back every recorded attribute whose value was
replaced, removes hooks the student added, and prints one line per repair so the grader
can report it. After every test cell, :func:`audit` looks for the same changes *without*
repairing them: a change there was made by student code called *during* the test (say, a
function that patches ``np.testing.assert_allclose`` when it is called), and the grader then
gives that test no points. (Kernel event callbacks registered by plotting, widget and kernel
libraries, e.g. when a function imports ``matplotlib.pyplot``, are legitimate and ignored.)
Test cells start with ``import numpy as np``, so rebinding the name ``np``
does not reach them either. So a student who writes ``np.allclose = lambda *a, **k: True``,
``np.testing.assert_array_equal = print``, ``MLP.score = lambda *a: 1.0`` or installs
``get_ipython().set_custom_exc(...)`` to swallow failures gets tests that run against the
original functions.

Limits (documented for instructors): code in the same process can always reach the
grader's own objects. A student who reads this module and targets it (replacing
``restore`` itself, mutating NumPy's C-level state, patching the kernel's messaging layer)
can defeat it; the grader then reports nothing unusual. It raises the bar for the
common tricks; it is not a sandbox.
"""
from __future__ import annotations

import builtins
import importlib
import inspect
import sys

#: modules whose attributes are snapshotted (and every loaded submodule of those ending in ".")
GUARDED_PREFIXES = ("numpy", "adaprune_edu", "math", "builtins", "IPython.core.interactiveshell",
                    "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.kernelbase")
#: imported before the snapshot so they are covered even if the student never imports them
PRELOAD = ("numpy", "numpy.testing", "numpy.linalg", "numpy.random", "adaprune_edu.nn", "adaprune_edu.data",
           "adaprune_edu.metrics", "adaprune_edu.pruning.amount", "adaprune_edu.pruning.masks",
           "adaprune_edu.pruning.surgery")
MARK = "adaprune-edu guard:"
_HEAP_TYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE

_snapshot = None
_bindings = None


def _guarded(name: str) -> bool:
    if name == "adaprune_edu.grading" or name.startswith("adaprune_edu.grading."):
        return False  # the grader's own state (this snapshot) must not be "restored"
    return any(name == prefix or name.startswith(prefix + ".") for prefix in GUARDED_PREFIXES)


def _class_dicts(modules) -> dict:
    """``{class: dict(vars(class))}`` for classes defined in the guarded modules (Python classes only)."""
    found = {}
    for module in modules.values():
        for value in list(vars(module).values()):
            # Only heap types (classes written in Python): C types' attributes cannot be replaced anyway.
            if inspect.isclass(value) and _guarded(getattr(value, "__module__", "") or "") \
                    and value.__flags__ & _HEAP_TYPE:
                found[value] = dict(vars(value))
    return found


def _shell():
    try:
        return get_ipython()  # noqa: F821 -- defined in an IPython kernel
    except NameError:
        return None


def _hooks(shell) -> dict:
    if shell is None:
        return {"excepthook": sys.excepthook}
    return {
        "excepthook": sys.excepthook,
        "input_transformers_cleanup": list(shell.input_transformers_cleanup),
        "input_transformers_post": list(shell.input_transformers_post),
        "ast_transformers": list(shell.ast_transformers),
        "events": {name: list(callbacks) for name, callbacks in shell.events.callbacks.items()},
        "custom_exceptions": shell.custom_exceptions,
        "instance": dict(vars(shell)),
    }


def set_memory_limit(megabytes) -> None:
    """Cap this process's address space (``RLIMIT_AS``) so a huge allocation fails instead of swapping."""
    if not megabytes:
        return
    try:
        import resource
    except ImportError:  # not on POSIX
        return
    limit = int(megabytes) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def install(memory_limit_mb=None) -> None:
    """Take the snapshot (call before any student code runs) and apply the memory limit."""
    global _snapshot
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # a module that fails to import is simply not guarded
            pass
    modules = {name: module for name, module in list(sys.modules.items()) if module is not None and _guarded(name)}
    _snapshot = {
        "sys.modules": dict(modules),
        "modules": {name: (module, dict(vars(module))) for name, module in modules.items()},
        "classes": _class_dicts(modules),
        "hooks": _hooks(_shell()),
    }
    set_memory_limit(memory_limit_mb)


#: replaced by the kernel itself around every execution
KERNEL_MANAGED = {("builtins", "input"), ("builtins", "raw_input"), ("builtins", "getpass")}


def _watched(key: str, label: str) -> bool:
    """Dunder entries (``__warningregistry__``, ``__dict__``...) change legitimately, except in builtins."""
    if (label, key) in KERNEL_MANAGED:
        return False
    return label == "builtins" or not (key.startswith("__") and key.endswith("__"))


def _compare_namespace(label: str, target, saved: dict, repair: bool, found: list) -> None:
    """Record (and with ``repair`` undo) replaced, deleted and added entries of a module or class."""
    current = vars(target)
    for key, value in saved.items():
        if _watched(key, label) and (key not in current or current[key] is not value):
            if repair:
                setattr(target, key, value)
            found.append(f"{label}.{key}")
    for key in [key for key in list(current) if key not in saved]:
        if inspect.ismodule(current[key]) or not _watched(key, label):
            continue  # a submodule imported later is legitimate
        if repair:
            delattr(target, key)
        found.append(f"{label}.{key} (added)")


#: modules whose kernel hooks are legitimate (``import matplotlib.pyplot`` registers one)
TRUSTED_HOOK_MODULES = ("matplotlib", "matplotlib_inline", "ipympl", "ipywidgets", "IPython", "ipykernel")


def _trusted(callback) -> bool:
    """A kernel event callback registered by a plotting, widget or kernel library."""
    owner = getattr(callback, "__self__", None)
    module = getattr(callback, "__module__", None) or getattr(type(owner), "__module__", "") or ""
    return any(module == name or module.startswith(name + ".") for name in TRUSTED_HOOK_MODULES)


def _compare_hooks(shell, saved: dict, repair: bool, found: list) -> None:
    """Record (and with ``repair`` undo) changed exception hooks, transformers and event callbacks."""
    if sys.excepthook != saved["excepthook"]:  # IPython re-binds it per cell: compare, not identity
        if repair:
            sys.excepthook = saved["excepthook"]
        found.append("sys.excepthook")
    if shell is None or "events" not in saved:
        return
    for name in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
        if list(getattr(shell, name)) != saved[name]:
            if repair:
                getattr(shell, name)[:] = saved[name]
            found.append(f"shell.{name}")
    for event, callbacks in shell.events.callbacks.items():
        before = saved["events"].get(event, [])
        if [c for c in callbacks if not _trusted(c)] != [c for c in before if not _trusted(c)]:
            if repair:  # keep what plotting/widget libraries registered (e.g. the inline backend)
                callbacks[:] = before + [c for c in callbacks if _trusted(c) and c not in before]
            found.append(f"shell.events[{event!r}]")
    if shell.custom_exceptions != saved["custom_exceptions"]:
        if repair:
            shell.set_custom_exc((), None)
        found.append("shell.set_custom_exc")
    instance = vars(shell)
    for key in list(instance):
        value = instance[key]
        if callable(value) and not inspect.isclass(value) and value is not saved["instance"].get(key, None):
            if repair and key in saved["instance"]:
                instance[key] = saved["instance"][key]
            elif repair:
                del instance[key]
            found.append(f"shell.{key}")


def _compare(repair: bool) -> list:
    if _snapshot is None:
        raise RuntimeError("adaprune_edu.grading.guard.install() was not called first")
    found = []
    for name, module in _snapshot["sys.modules"].items():  # `import numpy` must find the real numpy
        if sys.modules.get(name) is not module:
            if repair:
                sys.modules[name] = module
            found.append(f"sys.modules[{name!r}]")
    for name, (module, saved) in _snapshot["modules"].items():
        _compare_namespace(name, module, saved, repair, found)
    for cls, saved in _snapshot["classes"].items():
        _compare_namespace(f"{cls.__module__}.{cls.__qualname__}", cls, saved, repair, found)
    _compare_hooks(_shell(), _snapshot["hooks"], repair, found)
    return found


def _user_namespace() -> dict:
    shell = _shell()
    return shell.user_ns if shell is not None else vars(sys.modules["__main__"])


def _guarded_object(value) -> bool:
    """A module, class or function that comes from a guarded module (``np``, ``MLP``...)."""
    if inspect.ismodule(value):
        return _guarded(value.__name__)
    if inspect.isclass(value) or inspect.isroutine(value):
        return _guarded(getattr(value, "__module__", "") or "")
    return False


def restore() -> list:
    """Before a test: undo replaced attributes and added hooks; print and return what was repaired."""
    global _bindings
    repairs = _compare(repair=True)
    for repair in repairs:
        builtins.print(MARK, "restored", repair)
    _bindings = {name: value for name, value in _user_namespace().items() if _guarded_object(value)}
    return repairs


def audit() -> list:
    """After a test: what student code changed *while the test ran* (then the test does not count).

    Compares with the snapshot without repairing, and checks that the notebook names bound to
    guarded modules and functions before the test (``np``, ``MLP``...) still are.
    """
    changed = _compare(repair=False)
    names = _user_namespace()
    for name, value in (_bindings or {}).items():
        if names.get(name) is not value:
            changed.append(f"the name {name!r} in the notebook")
    for item in changed:
        builtins.print(MARK, "changed", item)
    return changed
