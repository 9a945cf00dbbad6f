"""Census: what each input announces, reconciled with what its reader made of it (issue 9, "losses are detectable").

Every reader counts, apart from its parser, the records its text announces (Reader.census); flows/extract.py turns
a shortfall into a quarantine row and flows/prepare.py keeps the counts per file. Here the per-file counts become
the manifest's census block and the two dataset-level checks of the suite. No I/O, no parsing.
"""

from __future__ import annotations

from collections.abc import Iterable

SAMPLE_SIZE = 10

Computed = tuple[bool, str, list[str]]


def census_counts(inputs: Iterable[dict]) -> dict:
    """The manifest's census block: announced vs accounted over all inputs, and the files that fall short.

    `inputs` are manifest input rows (PreparedFile.input_row): records, quarantined, announced, census_shortfall.
    A file's shortfall is already one quarantine row, so `raw_records = appearances + quarantined` still holds;
    this block says how many announced records that row stands for.
    """
    counted = [i for i in inputs if i.get("announced") is not None]
    short = [i for i in counted if i.get("census_shortfall")]
    return {
        "files_counted": len(counted),
        "announced": sum(i["announced"] for i in counted),
        "shortfall": sum(i["census_shortfall"] for i in short),
        "files_short": [i["path"] for i in short],
        "files_lost_whole": [i["path"] for i in counted if _lost_whole(i)],
    }


def _lost_whole(row: dict) -> bool:
    """The reader gave nothing (no record, no quarantine row of its own) of what the file announces."""
    announced, shortfall = row.get("announced") or 0, row.get("census_shortfall") or 0
    return announced > 0 and row.get("records") == 0 and shortfall == announced


def _inputs_or_none(inputs: list[dict] | None) -> list[dict] | None:
    if not inputs or not any(isinstance(i, dict) and "announced" in i for i in inputs):
        return None  # a version published before the census (or no inputs given): nothing to reconcile
    return [i for i in inputs if isinstance(i, dict)]


def no_input_lost_whole(inputs: list[dict] | None) -> Computed:
    """Blocking: no input that announces records yields none of them without a reason of its reader's own.

    A file quarantined whole with its cause (a corrupt gzip, a reader failure) is explained and does not count:
    this catches a parser that silently read nothing of a file that plainly holds records.
    """
    rows = _inputs_or_none(inputs)
    if rows is None:
        return True, "no census in the inputs (published before the census existed)", []
    lost = [i for i in rows if _lost_whole(i)]
    counted = sum(i.get("announced") is not None for i in rows)
    observed = f"{len(lost):,} of {counted:,} counted inputs yield none of the records they announce"
    sample = [f"{i['path']}: announces {i['announced']:,}, gave 0" for i in lost[:SAMPLE_SIZE]]
    return not lost, observed, sample


def inputs_reach_their_census(inputs: list[dict] | None) -> Computed:
    """Warning: every input's records + quarantine rows reach what it announces (shortfalls are quarantined)."""
    rows = _inputs_or_none(inputs)
    if rows is None:
        return True, "no census in the inputs (published before the census existed)", []
    short = [i for i in rows if i.get("census_shortfall")]
    missing = sum(i["census_shortfall"] for i in short)
    announced = sum(i.get("announced") or 0 for i in rows)
    observed = (
        f"{len(short):,} input(s) fall short of their census: {missing:,} of {announced:,} announced records "
        "neither published nor quarantined one by one (one census_shortfall row per file says so)"
    )
    sample = [
        f"{i['path']}: announces {i['announced']:,}, gave {i['records']:,} records + "
        f"{i['quarantined'] - 1:,} quarantined"
        for i in short[:SAMPLE_SIZE]
    ]
    return not short, observed, sample
