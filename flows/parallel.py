"""The one way the project runs work in parallel: a function over items, across processes when it pays.

Per-file preparation (extract + clean + language) is the unit of parallel work, in processes; hashing the inputs
runs in threads. Nothing below a file starts processes or threads of its own. It knows nothing of what the items are.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def worker_count(requested: int = 0) -> int:
    """Processes to use: the request, else one per core."""
    return requested if requested > 0 else (os.cpu_count() or 1)


def mapped(fn: Callable[[T], R], items: Sequence[T], workers: int = 0) -> Iterator[R]:
    """fn over items in order, in `workers` spawned processes (in this process for one item or one worker).

    fn and the items must pickle (a module-level function); results arrive in the items' order as each is
    ready, so a caller can write them out without holding them all.
    """
    workers = min(worker_count(workers), len(items))
    if workers <= 1:
        yield from map(fn, items)
        return
    # spawn, not fork: a forked child of a process running Polars' thread pool can deadlock. Each worker gets
    # an equal share of the cores for Polars' and langdetect-rs's own threads instead of all of them each.
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    with _environment(POLARS_MAX_THREADS=threads, RAYON_NUM_THREADS=threads):
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            yield from pool.map(fn, items)


def mapped_in_threads(fn: Callable[[T], R], items: Sequence[T], workers: int = 0) -> list[R]:
    """fn over items in order, in threads: for work that releases the GIL (hashing, reading files)."""
    with ThreadPoolExecutor(max(2, worker_count(workers))) as pool:
        return list(pool.map(fn, items))


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Environment variables set for the processes started inside the block (a spawned child copies them)."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
