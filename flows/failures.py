"""How a failed run is said: one line on the terminal and an exit code (documented in the README).

Deliberate refusals (blocked, removals, unusable input, a busy lock) keep their own message; an operating-system
I/O error is told as the input it could not read or the output it could not write, with a hint; anything else is
an internal error whose traceback the CLI prints. Also the log filter that keeps Prefect's and GX's own failure
reports off the terminal while a run is in progress, so the failure is said once.
"""

from __future__ import annotations

import errno
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """What `papers run` exits with (documented in the README)."""

    OK = 0  # published, or unchanged
    BLOCKED = 1  # validation blocked the candidate, or a schema change was refused; nothing published
    UNUSABLE_INPUT = 2  # raw dir missing, unreadable or holding nothing usable; or another run holds the lock
    REMOVALS_REFUSED = 3  # the run would remove published papers; nothing published (--allow-removals)
    OUTPUT_ERROR = 4  # the output could not be written: disk full, read-only, permission denied
    INTERNAL_ERROR = 5  # anything else (a bug, or Prefect's temporary API failed); the traceback is printed


def refusal(exc: Exception) -> tuple[ExitCode, str, str] | None:
    """The exit code and label of a deliberate refusal (blocked, removals, unusable input, busy), else None."""
    from flows.diff import RemovalsRefused, SchemaChangeRefused
    from flows.extract import UnusableInput
    from flows.recovery import PublishBusy
    from flows.validate import ValidationBlocked

    if isinstance(exc, (ValidationBlocked, SchemaChangeRefused)):
        return ExitCode.BLOCKED, "blocked", str(exc)
    if isinstance(exc, RemovalsRefused):
        return ExitCode.REMOVALS_REFUSED, "refused", str(exc)
    if isinstance(exc, (UnusableInput, PublishBusy)):
        return ExitCode.UNUSABLE_INPUT, "error", str(exc)
    return None


class RunFailureFilter(logging.Filter):
    """Keeps Prefect's and GX's own reports of a failed run off the terminal: the CLI says it in one line.

    Drops, for the terminal only, the flow's and tasks' error records (with their tracebacks), their final
    "Finished in state Failed/Crashed" lines and GX's errors; progress lines stay, and a server's API handler,
    which has no such filter, still records everything for the UI.
    """

    _RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(self._RUN_LOGGERS):
            final = record.getMessage().startswith(("Finished in state Failed", "Finished in state Crashed"))
            return record.levelno < logging.ERROR and not final
        return not (record.name.startswith("great_expectations") and record.levelno >= logging.ERROR)


@contextmanager
def failures_said_once() -> Iterator[None]:
    """While the flow runs, the terminal's log handlers (Prefect's console handler on the root logger) drop
    failure reports that the CLI turns into its one line (RunFailureFilter); unexpected errors still get their
    traceback, printed by _failure."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    quiet = RunFailureFilter()
    for handler in handlers:
        handler.addFilter(quiet)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(quiet)


_ERRNO_IN_TEXT = re.compile(r"(?:errno|os error)\s*(\d+)", re.IGNORECASE)
_PATH_IN_TEXT = re.compile(r"'(/[^']+)'|(?<=: )(/\S+)$")
_OUTPUT_HINTS = {
    errno.ENOSPC: "free some space or choose another --out-dir",
    errno.EDQUOT: "free some space or choose another --out-dir",
    errno.EROFS: "choose a writable --out-dir",
    errno.EACCES: "check the permissions or choose another --out-dir",
    errno.EPERM: "check the permissions or choose another --out-dir",
}


def io_failure(exc: BaseException) -> tuple[int, str | None] | None:
    """(errno, path or None) when exc, or an exception it was raised from, is an operating-system I/O error.

    Arrow and Polars report some I/O errors only in their message ("... (os error 28)"), so that is read too.
    """
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc)
        code = getattr(exc, "errno", None) if isinstance(exc, OSError) else None
        if code is None and (m := _ERRNO_IN_TEXT.search(text)):
            code = int(m[1])
        if code is not None:
            path = getattr(exc, "filename", None)
            if path is None and (m := _PATH_IN_TEXT.search(text)):
                path = m[1] or m[2]
            return code, str(path) if path is not None else None
        exc = exc.__cause__ or exc.__context__
    return None


def failure(exc: Exception, raw_dir: Path, out_dir: Path, latest: str | None) -> tuple[ExitCode, str, str]:
    """The exit code, label and one line for a failure that is not a refusal (INTERNAL_ERROR: print the traceback)."""
    found = io_failure(exc)
    if found is None:
        return ExitCode.INTERNAL_ERROR, "error", f"{one_line(exc)} (unexpected; the traceback is above)"
    code, path = found
    cause = os.strerror(code).lower()
    where = Path(path) if path else out_dir
    if _inside(where, raw_dir):
        return ExitCode.UNUSABLE_INPUT, "error", f"cannot read input {where}: {cause}"
    unchanged = f"latest still names {latest}" if latest else "nothing was published"
    hint = _OUTPUT_HINTS.get(code, "see the path above")
    return ExitCode.OUTPUT_ERROR, "error", f"cannot write {where}: {cause} ({unchanged}; {hint})"


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except OSError:
        return False


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "no details"
    return f"{type(exc).__name__}: {text[:300]}"
