"""Graded assignments in nbgrader's format: release, check and batch grading.

The instructor notebooks in ``solutions/`` are the one source of truth. They use nbgrader's
cell metadata (``nbgrader: {grade, grade_id, locked, solution, points, schema_version, task}``)
and its ``### BEGIN SOLUTION`` / ``### BEGIN HIDDEN TESTS`` markers, so they also work in an
nbgrader course unchanged.

Modules, in the order the data flows:

- :mod:`.cells` -- what a cell is to the grader (answer, test, locked, written answer), the
  assignment id stamped in a notebook's metadata, reading a submission safely.
- :mod:`.release` -- ``adaprune-edu release``: student notebooks from the solutions, with
  nbgrader's own preprocessors.
- :mod:`.restore` -- before grading, put every locked and test cell back from the source
  (hidden tests included) so an edited or deleted test cannot raise a score.
- :mod:`.guard` -- runs inside the student's kernel: snapshots NumPy, the package and the
  kernel's hooks before student code runs and restores them before every test cell.
- :mod:`.run` -- execute one notebook in a fresh kernel (nbclient), with a per-cell timeout,
  a memory limit, and an empty temporary working directory.
- :mod:`.sandbox` / :mod:`.sandbox_kernel` -- the kernel in a bubblewrap sandbox: only the Python
  environment visible (read-only), no network, its own PID namespace, resource limits.
- :mod:`.scoring` -- from executed cells to per-question points and statuses.
- :mod:`.report` -- atomic writes of ``grades.csv``, ``grades.json`` and feedback files.
- :mod:`.check` / :mod:`.grade` -- the two commands.
"""
