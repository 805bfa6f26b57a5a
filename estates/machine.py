"""What this machine lends the tool: the cores a process may run on.

Work goes to a second process (a build's pictures, the GeoPackage layer of
a build in parts) or to threads (the borough join's chunks, the manifest's
hashes) only when there is a core to run it on. The count is the process's
own: a container or ``taskset`` that pins it to fewer cores than the machine
has is obeyed.
"""

from __future__ import annotations

import os
import sys

__all__ = ["child_environment", "second_process_helps", "usable_cores"]


def usable_cores() -> int:
    """Return the number of cores this process may run on (at least 1).

    Examples
    --------
    >>> usable_cores() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def second_process_helps() -> bool:
    """Return whether work can go to a second Python process running beside this one.

    It needs a second core and a Python executable to start: a frozen
    application's executable is not Python.
    """
    return usable_cores() >= 2 and bool(sys.executable) and not getattr(sys, "frozen", False)


def child_environment() -> dict[str, str]:
    """Return the environment of a second Python process: this one's, with its ``sys.path``.

    The second process then imports the same ``estates`` (and libraries) as this one.
    """
    paths = [p or os.getcwd() for p in sys.path]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
