"""Whether a stage's evidence can be trusted this minute (issue 20, part 4).

In order of precedence:

1. a sample-ratio mismatch (the always-valid test of `stats.check_sample_ratio`
   on the stage's randomised users against the treatment share): the split
   itself is wrong, so it pauses at once (`DataHealth.srm`);
2. a metric source failing for `grace_minutes` or longer;
3. no exposures of the evaluated flag, in any lane, for `grace_minutes`;
4. no events of the metrics the stage's ratio criteria read from windows, for
   `grace_minutes`.

Gaps count from the minute after the last data (from the stage's start when
there was none), so `since` is the first minute without data; a problem is
reported once it has lasted the grace period: at `minute`, when the
`grace_minutes` whole minutes before it had none (the current minute's events
may still be arriving). That is also when the machine pauses.

Exposures and metric events are looked for in every lane: treatment alone goes
quiet for minutes at a time in a small canary or a UAT stage, which is chance,
not a broken pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping

from flagramp.engine.evaluation import DataHealth
from flagramp.engine.evidence import LaneTotals
from flagramp.stats import check_sample_ratio, srm_statistic
from flagramp.stats.windows import Lane

__all__ = ["clock_text", "data_health", "sample_ratio"]


def clock_text(minute: int) -> str:
    """An epoch minute as HH:MM (UTC)."""
    return f"{minute // 60 % 24:02d}:{minute % 60:02d}"


def sample_ratio(
    totals: Mapping[Lane, LaneTotals], share: float
) -> tuple[float | None, bool]:
    """The χ² p-value of control vs treatment users, and whether the split is off.

    (None, False) when there is nothing to check: a share of 0 or 1, or no
    randomised user yet.
    """
    if not 0.0 < share < 1.0:
        return None, False
    counts = [
        float(totals[lane].users) if lane in totals else 0.0
        for lane in (Lane.OFF, Lane.ON)
    ]
    if sum(counts) <= 0:
        return None, False
    shares = [1.0 - share, share]
    _, p = srm_statistic(counts, shares)
    return p, check_sample_ratio(counts, shares).is_harmful


def _gap(last: int | None, started: int) -> int:
    # The first minute without data.
    return started if last is None else max(started, last + 1)


def data_health(
    totals: Mapping[Lane, LaneTotals],
    *,
    minute: int,
    started: int,
    grace_minutes: int,
    srm: tuple[float | None, bool],
    metrics: tuple[str, ...],
    source_failures: Mapping[str, int],
    source_problems: Mapping[str, str] | None = None,
) -> DataHealth:
    """The stage's data health at `minute` (see the module's rules)."""
    p, mismatch = srm
    if mismatch:
        return DataHealth(f"sample ratio mismatch p={p:.2g}", since=minute, srm=True)
    problems: list[tuple[int, str]] = []
    for source, failing_since in sorted(source_failures.items()):
        words = (source_problems or {}).get(source)
        text = (
            f"source {source} unavailable since {{time}}"
            if words is None
            else f"source {source} {words}, no data since {{time}}"
        )
        problems.append((failing_since, text))
    lanes = list(totals.values())
    last_exposure = max(
        (t.last_exposure for t in lanes if t.last_exposure is not None),
        default=None,
    )
    problems.append((_gap(last_exposure, started), "no exposures since {time}"))
    if metrics:
        last_event = max(
            (t.last_metric_event[m] for t in lanes for m in metrics
             if m in t.last_metric_event),
            default=None,
        )  # fmt: skip
        problems.append((_gap(last_event, started), "no metric events since {time}"))
    lasting = [(s, text) for s, text in problems if minute - s >= grace_minutes]
    if not lasting:
        return DataHealth()
    since, text = lasting[0]
    return DataHealth(text.format(time=clock_text(since)), since=since)
