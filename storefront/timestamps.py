"""Parse a column of order or interaction times, whatever shape the exporting system gave them.

Accepted, decided once per column (never guessed row by row, so 03/04 is never March in one row
and April in the next):

- unix time as a number: seconds, or milliseconds / microseconds / nanoseconds when the typical
  value is that much larger (1.7e9 is seconds, 1.7e12 milliseconds); numbers around 45,000 are
  spreadsheet serial days (Excel's, from 1899-12-30), which as seconds would all be in 1970;
- ISO 8601 ("2024-03-01T09:30:00+02:00", "…Z", or without an offset), and compact "20240301";
- day-first and month-first forms with "/", "." or "-" ("13/03/2024 9:30", "3/13/2024 9:30 PM").

Ambiguity: the format that parses the most distinct values wins, so one "13/03/…" in the file
settles it. If every value reads both ways (no day above 12 anywhere), the `date_order` given
("dmy" or "mdy") decides; without one, dates with "/" are read month-first (the US spreadsheet
default, and the demo's) and dates with "." or "-" day-first, and a note says so.

Values with an offset are converted to UTC; values without one are wall-clock times in
`source_tz` (UTC when None). A time before 1980 or more than two days after now is out of
range: almost always a unit or format mix-up (0, 1970-01-01, year 2106), so it is flagged
rather than stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

EARLIEST = pd.Timestamp("1980-01-01")
FUTURE_SLACK = timedelta(days=2)
SAMPLE = 3000

_TIMES = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M:%S %p", "")
# (format, order) where order says which way round the first two numbers are: None = not a
# day/month question (year first), "mdy" or "dmy"
_FORMATS: tuple[tuple[str, str | None], ...] = (
    ("ISO8601", None),
    ("%Y%m%d", None),
    *((f"%Y/%m/%d {t}".strip(), None) for t in _TIMES),
    *((f"%m/%d/%Y {t}".strip(), "mdy") for t in _TIMES),
    *((f"%d/%m/%Y {t}".strip(), "dmy") for t in _TIMES),
    *((f"%m/%d/%y {t}".strip(), "mdy") for t in _TIMES),
    *((f"%d/%m/%y {t}".strip(), "dmy") for t in _TIMES),
    *((f"%d.%m.%Y {t}".strip(), "dmy") for t in _TIMES),
    *((f"%m.%d.%Y {t}".strip(), "mdy") for t in _TIMES),
    *((f"%d-%m-%Y {t}".strip(), "dmy") for t in _TIMES),
    *((f"%m-%d-%Y {t}".strip(), "mdy") for t in _TIMES),
)
_UNITS = (("s", 1e11), ("ms", 1e14), ("us", 1e17), ("ns", float("inf")))
_OFFSET = r"(?:Z|[+-]\d\d:?\d\d)$"


@dataclass
class ParsedTimes:
    """Naive UTC datetime64[ns] (NaT where unparseable or out of range), and what was decided."""

    ts: pd.Series
    out_of_range: pd.Series  # bool: parsed, but before EARLIEST or in the future
    fmt: str = ""
    notes: list[str] = field(default_factory=list)


def parse_times(
    series: pd.Series,
    source_tz: str | None = None,
    date_order: str | None = None,
    *,
    now: datetime | None = None,
) -> ParsedTimes:
    """Parse one column of times into naive UTC (see the module docstring for the rules)."""
    if date_order not in (None, "dmy", "mdy"):
        raise ValueError(f"date order must be dmy or mdy, not {date_order!r}")
    notes: list[str] = []
    naive_mask = pd.Series(True, index=series.index)
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        ts, fmt = series.dt.tz_convert("UTC").dt.tz_localize(None), "datetime"
        naive_mask[:] = False
    elif pd.api.types.is_datetime64_any_dtype(series):
        ts, fmt = series, "datetime"
    elif pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        ts, fmt = _epoch(series.astype("float64"))
        naive_mask[:] = fmt == "serial days"  # unix time is UTC; a spreadsheet's is local
    else:
        text = series.astype("str").str.strip().where(series.notna())
        text = text.where(text != "")
        distinct = text.dropna().drop_duplicates()
        sample = distinct.sample(n=min(len(distinct), SAMPLE), random_state=0)
        numeric = pd.to_numeric(sample, errors="coerce")
        compact = sample.str.fullmatch(r"(?:19|20)\d{6}").mean() if len(sample) else 0.0
        if len(sample) and numeric.notna().mean() >= 0.9 and compact < 0.9:
            ts, fmt = _epoch(pd.to_numeric(text, errors="coerce"))
            naive_mask[:] = fmt == "serial days"
        else:
            fmt, note = _pick_format(sample, date_order)
            if note:
                notes.append(note)
            parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
            ts = parsed.dt.tz_localize(None)
            naive_mask = ~text.str.contains(_OFFSET, na=False)
    ts = ts.astype("datetime64[ns]")
    if source_tz and naive_mask.any():
        wall = ts[naive_mask]
        ambiguous = np.zeros(len(wall), dtype=bool)  # the repeated autumn hour: standard time
        local = wall.dt.tz_localize(source_tz, ambiguous=ambiguous, nonexistent="shift_forward")
        ts = ts.copy()
        ts[naive_mask] = local.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
    latest = pd.Timestamp((now or datetime.now(UTC)).replace(tzinfo=None) + FUTURE_SLACK)
    out = ts.notna() & ((ts < EARLIEST) | (ts > latest))
    return ParsedTimes(ts.where(~out), out, fmt, notes)


def _epoch(numbers: pd.Series) -> tuple[pd.Series, str]:
    """Unix time in the unit the column's typical magnitude implies; or, for numbers from 10,000
    to 200,000, spreadsheet serial days (45292 is 2024-01-01), as unix seconds would be 1970."""
    typical = float(numbers.abs().median()) if numbers.notna().any() else 0.0
    if 1e4 <= typical < 2e5:
        days = numbers.where((numbers > 0) & (numbers < 1e6))
        return pd.to_datetime(days, unit="D", origin="1899-12-30", errors="coerce"), "serial days"
    unit = next(u for u, below in _UNITS if typical < below)
    limit = {"s": 1e10, "ms": 1e13, "us": 1e16, "ns": 9e18}[unit]  # keeps to_datetime in bounds
    safe = numbers.where(numbers.abs() < limit)
    return pd.to_datetime(safe, unit=unit, errors="coerce"), f"unix {unit}"


def _pick_format(sample: pd.Series, date_order: str | None) -> tuple[str, str]:
    """The format parsing the most of the sample; a day/month tie is settled as documented."""
    scores: list[tuple[int, str, str | None]] = []
    for fmt, order in _FORMATS:
        ok = int(pd.to_datetime(sample, format=fmt, errors="coerce", utc=True).notna().sum())
        scores.append((ok, fmt, order))
    best_ok = max(s[0] for s in scores)
    tied = [(fmt, order) for ok, fmt, order in scores if ok == best_ok]
    if best_ok == 0:
        return "ISO8601", ""
    orders = {order for _, order in tied}
    if not ({"dmy", "mdy"} <= orders):
        return tied[0][0], ""
    if date_order is None:
        slash = tied[0][0].startswith(("%m/", "%d/"))
        date_order = "mdy" if slash else "dmy"
        how = "month-first" if date_order == "mdy" else "day-first"
        other = "dmy" if date_order == "mdy" else "mdy"
        example = sample.iloc[0]
        note = (
            f"Dates such as {example!r} read both ways (no day above 12 in the file); read "
            f"them {how}. Pass --date-order {other} if that is wrong."
        )
    else:
        note = ""
    return next(fmt for fmt, order in tied if order == date_order), note
