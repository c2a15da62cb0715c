"""Line charts as plain SVG coordinates, drawn by the template: no script, nothing to load,
and every label goes through Jinja's escaping like the rest of the studio."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 640, 220, 40
COLOURS = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#d35400")


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    points: str  # "x,y x,y ..." for <polyline points>
    last: str  # the last value, formatted


@dataclass(frozen=True)
class Chart:
    title: str
    days: tuple[str, ...]
    series: tuple[Series, ...]
    top: str  # the y axis' top label
    width: int = WIDTH
    height: int = HEIGHT
    pad: int = PAD


def lines(title: str, values: dict[str, dict[str, float]], fmt: str = "{:.2%}") -> Chart | None:
    """One line per name over the union of days (a missing day repeats the last value)."""
    days = sorted({d for per_day in values.values() for d in per_day})
    if not days:
        return None
    top = max((v for per_day in values.values() for v in per_day.values()), default=0.0) or 1.0
    span_x = max(len(days) - 1, 1)
    series = []
    for i, (name, per_day) in enumerate(values.items()):
        pts, last = [], 0.0
        for j, day in enumerate(days):
            last = per_day.get(day, last)
            x = PAD + (WIDTH - 2 * PAD) * j / span_x
            y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * last / top
            pts.append(f"{x:.1f},{y:.1f}")
        series.append(Series(name, COLOURS[i % len(COLOURS)], " ".join(pts), fmt.format(last)))
    return Chart(title, tuple(days), tuple(series), fmt.format(top))


def cumulative_ctr(daily: dict[str, dict[str, list[int]]]) -> dict[str, dict[str, float]]:
    """arm -> day -> click-through up to and including that day (it settles as data grows,
    which is the point of showing it: an early gap that closes is noise)."""
    out: dict[str, dict[str, float]] = {}
    for arm, per_day in daily.items():
        shown = clicks = 0
        out[arm] = {}
        for day in sorted(per_day):
            shown += per_day[day][0]
            clicks += per_day[day][1]
            out[arm][day] = clicks / shown if shown else 0.0
    return out


def daily_impressions(daily: dict[str, dict[str, list[int]]]) -> dict[str, dict[str, float]]:
    return {arm: {d: float(v[0]) for d, v in per_day.items()} for arm, per_day in daily.items()}
