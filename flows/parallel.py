"""The one way the project runs work in parallel: a function over items, across processes when it pays.

Per-file preparation (extract + clean + language) is the unit of parallel work, in processes; hashing the
inputs runs in threads. Nothing below a file starts processes or threads of its own: the Python work per value
(ftfy, pylatexenc, langdetect) runs here too, once per distinct value, in the process that prepares the file.
It knows nothing of what the items or values are.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache, lru_cache
from typing import TypeVar

import polars as pl

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


def prefetched(items: Iterable[T], ahead: int = 1) -> Iterator[T]:
    """items in order, each computed in a thread up to `ahead` items before the consumer asks for it: for a
    producer and a consumer that both release the GIL (Polars reading row groups, pyarrow encoding them).

    An exception in the producer is raised to the consumer at the item where it happened; a consumer that stops
    early stops the producer after the item it is computing.
    """
    end, stop = object(), threading.Event()
    slots: queue.Queue = queue.Queue(maxsize=max(1, ahead))

    def offer(entry: tuple) -> bool:
        while not stop.is_set():
            try:
                slots.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((item, None)):
                    return
            offer((end, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            offer((end, exc))

    producer = threading.Thread(target=produce, name="prefetch", daemon=True)
    producer.start()
    try:
        while True:
            item, exc = slots.get()
            if item is end:
                if exc is not None:
                    raise exc
                return
            yield item
    finally:
        stop.set()
        producer.join()


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


# --- per-value Python work ---------------------------------------------------------------------------------
# Where a rule needs a Python library per value (ftfy, html, pylatexenc, langdetect), it runs once per
# distinct value, in the process that prepares the file: the files are what runs in parallel (above), and a
# pool below a file would compete with the file workers for the same cores.

# How many results each converter remembers. A worker cleans file after file, and the same LaTeX fragments
# ($\epsilon=5$, \'e, \eg) come back in most of them; converters are pure, so a remembered result is the result.
# Bounded, least recently used out first: fragments that recur stay, one-off values (a \textbf{title}) pass through.
REMEMBERED = 4096


@cache
def remembered(convert: Callable[[str], R]) -> Callable[[str], R]:
    """convert, remembering its last REMEMBERED results (one memory per converter, for the process's life)."""
    return lru_cache(maxsize=REMEMBERED)(convert)


def each_remembered(convert: Callable[[str], str]) -> Callable[[pl.Series], pl.Series]:
    """A batch function applying convert to each string of a Series, with remembered results (see REMEMBERED).

    Example: each_remembered(str.upper)(pl.Series(['a', 'b'])) -> pl.Series(['A', 'B'])
    """

    def converted(values: pl.Series) -> pl.Series:
        convert_one = remembered(convert)
        return pl.Series(values.name, [convert_one(value) for value in values.to_list()], dtype=pl.String)

    return converted


def per_distinct_value(
    values: pl.Series, convert: Callable[[pl.Series], pl.Series], rows: pl.Series | None = None
) -> pl.Series:
    """values with convert run once over the distinct non-null values of the selected rows (every row by
    default); each row holding one of those values takes its result, the other rows keep theirs.

    convert gets the distinct values sorted and returns one result each, in order, of the values' type.

    Example: per_distinct_value(pl.Series(['a', 'b', 'a']), each_remembered(str.upper)) -> ['A', 'B', 'A']
    """
    chosen = values if rows is None else values.filter(rows)
    distinct = chosen.drop_nulls().unique().sort()
    if distinct.is_empty():
        return values
    return values.replace(distinct, convert(distinct))
