"""What a Flipper database holds, and what adopting it would change.

`inspect_flipper(url)` reads Flipper's tables once and writes nothing anywhere
(no migration either): the features with their gates in words, which look like
staged rollouts, and the consequences of adopting them as flagramp flags. With
flagramp's current flags of the environment (`current`), it also says which
flags adoption would replace, keep, or write into Flipper's tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from flagramp.core.errors import FlagError, ImportInvalid, StoreUnavailable
from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.store.connections import short_reason
from flagramp.store.flipper.database import FlagStoreUrl, FlipperDatabase
from flagramp.store.flipper.holding import rows_or_none
from flagramp.store.flipper.rows import GATE_KEYS, FeatureRows, flag_from_rows
from flagramp.store.flipper.writes import StoredFeature, read_features
from flagramp.store.rules import check_flag

#: How many actors a line names before "and N more".
SHOWN_ACTORS = 3


@dataclass(frozen=True)
class FeatureReport:
    """One feature: its gates in words, the staged rollout it looks like (if
    any), other remarks, and the flag adoption would make of it (None if
    flagramp cannot hold it, and then `problem` says why)."""

    key: str
    gates: tuple[str, ...]
    rollout: str | None
    notes: tuple[str, ...]
    flag: Flag | None
    problem: str | None
    rows: FeatureRows


@dataclass(frozen=True)
class Inspection:
    """A Flipper database as `flagramp flipper inspect` shows it."""

    url: str
    environment: str
    tables: tuple[str, str]
    value_type: str
    flipper_versions: str
    collation: str | None
    features: tuple[FeatureReport, ...]
    #: Keys with gate rows but no feature row, and how many rows.
    stray_rows: Mapping[str, int]
    #: Gate keys Flipper's adapter does not read, and how many rows hold them.
    unknown_gates: Mapping[str, int]
    #: What adopting the database would do, one sentence each.
    adoption: tuple[str, ...] = field(default=())


def inspect_flipper(
    source: FlipperDatabase | str | FlagStoreUrl,
    *,
    current: Sequence[Flag] | None = None,
    segments: Mapping[str, Segment] | None = None,
) -> Inspection:
    """Read the Flipper database (an open one, or at a URL, opened and closed
    here); raises FlipperTablesNotFound or StoreUnavailable."""
    flipper = (
        source if isinstance(source, FlipperDatabase) else FlipperDatabase.open(source)
    )
    try:
        with flipper.engine.connect() as conn:
            stored = read_features(conn, flipper.tables)
    except SQLAlchemyError as exc:
        raise StoreUnavailable(flipper.url.shown, short_reason(exc)) from exc
    finally:
        if flipper is not source:
            flipper.dispose()
    known = {f.key: f for f in current or ()}
    features = tuple(
        _feature(s, known.get(s.key))
        for s in sorted(stored.values(), key=lambda s: s.key)
        if s.feature_id is not None
    )
    stray = {s.key: len(s.gate_rows) for s in stored.values() if s.feature_id is None}
    unknown: dict[str, int] = {}
    for s in stored.values():
        for _, gate, _ in s.gate_rows:
            if gate not in GATE_KEYS:
                unknown[gate] = unknown.get(gate, 0) + 1
    schema = flipper.schema
    inspection = Inspection(
        url=flipper.url.shown,
        environment=flipper.url.environment,
        tables=(schema.tables.features.name, schema.tables.gates.name),
        value_type=schema.value_type,
        flipper_versions=schema.flipper_versions,
        collation=schema.collation,
        features=features,
        stray_rows=dict(sorted(stray.items())),
        unknown_gates=dict(sorted(unknown.items())),
    )
    adoption = _adoption(inspection, flipper, known, segments or {})
    return Inspection(**{**inspection.__dict__, "adoption": tuple(adoption)})


def _feature(stored: StoredFeature, base: Flag | None) -> FeatureReport:
    rows = stored.rows
    try:
        flag: Flag | None = check_flag(flag_from_rows(stored.key, rows, base))
        problem = None
    except (ImportInvalid, FlagError) as exc:
        flag, problem = None, str(exc)
    words, rollout = gates_in_words(rows), _rollout(rows)
    return FeatureReport(stored.key, words, rollout, _notes(rows), flag, problem, rows)


def gates_in_words(rows: FeatureRows) -> tuple[str, ...]:
    """The feature's gates as a person reads them, in Flipper's gate order."""
    words: list[str] = []
    if rows.values("boolean"):
        words.append("on for everyone (boolean)")
    for text in rows.values("expression"):
        words.append(f"expression {text}")
    actors = [a for a in rows.values("actors") if a is not None]
    if actors:
        shown = ", ".join(repr(a) for a in actors[:SHOWN_ACTORS])
        more = len(actors) - SHOWN_ACTORS
        words.append(
            f"{_count(len(actors), 'actor')}: {shown}"
            + (f" and {more} more" if more > 0 else "")
        )
    for pct in rows.values("percentage_of_actors"):
        words.append(f"{pct} % of actors")
    for pct in rows.values("percentage_of_time"):
        words.append(f"{pct} % of the time")
    groups = [g for g in rows.values("groups") if g is not None]
    if groups:
        words.append("groups " + ", ".join(repr(g) for g in groups))
    return tuple(words) or ("off (no gate set)",)


def _rollout(rows: FeatureRows) -> str | None:
    if rows.values("boolean"):
        return None
    for pct in rows.values("percentage_of_actors"):
        share = _number(pct)
        if 0 < share < 100:
            allow = len(rows.values("actors"))
            extra = f" with {_count(allow, 'allow-listed actor')}" if allow else ""
            return f"a staged rollout at {pct} % of actors{extra}"
    if any("PercentageOfActors" in (t or "") for t in rows.values("expression")):
        return "a staged rollout by an expression's percentage of actors"
    return None


def _notes(rows: FeatureRows) -> tuple[str, ...]:
    notes = []
    for pct in rows.values("percentage_of_time"):
        if 0 < _number(pct) < 100:
            notes.append(
                f"{pct} % of the time is drawn afresh on every check, so one user "
                "sees it on and off: not a rollout by users"
            )
    return tuple(notes)


def _adoption(
    inspection: Inspection,
    flipper: FlipperDatabase,
    current: Mapping[str, Flag],
    segments: Mapping[str, Segment],
) -> list[str]:
    environment = inspection.environment
    readable = [f for f in inspection.features if f.flag is not None]
    said = [
        f"{_count(len(readable), 'feature')} would become flags of environment "
        f"{environment!r}, each audited as 'adopt'; nothing in Flipper's tables is "
        "written to adopt them, and the Ruby app keeps its answers"
    ]
    unreadable = [f for f in inspection.features if f.flag is None]
    if unreadable:
        names = ", ".join(repr(f.key) for f in unreadable)
        said.append(
            f"{_count(len(unreadable), 'feature')} cannot be adopted and would be "
            f"left as they are: {names} (see each one's problem)"
        )
    replaced = [
        f.key
        for f in readable
        if f.key in current and not _agrees(current[f.key], f, flipper, segments)
    ]
    if replaced:
        said.append(
            "flagramp's flags " + ", ".join(repr(k) for k in replaced) + " differ "
            "from Flipper's rows and would take Flipper's gates (their deny lists "
            "and eligibility, which the rows cannot hold, would be dropped)"
        )
    missing = sorted(set(current) - {f.key for f in inspection.features})
    schema, environment = flipper.schema, flipper.url.environment
    pushed = [
        k for k in missing if rows_or_none(current[k], segments, schema, environment)
    ]
    if pushed:
        said.append(
            "flagramp's flags " + ", ".join(repr(k) for k in pushed) + " are not in "
            "Flipper's tables and would be written there"
        )
    kept = [k for k in missing if k not in pushed]
    if kept:
        said.append(
            "flagramp's flags " + ", ".join(repr(k) for k in kept) + " are not in "
            "Flipper's tables and cannot be written there (see what the tables "
            "refuse); they would stay in flagramp only"
        )
    groups = sorted(
        {g for f in readable if f.flag for g in f.flag.groups} - set(segments)
    )
    if groups:
        one = len(groups) == 1
        said.append(
            ("the group " if one else "the groups ")
            + ", ".join(repr(g) for g in groups)
            + (" is a Ruby block" if one else " are Ruby blocks")
            + " in the app; flagramp matches a group through a segment of the same "
            "name, so until "
            + ("that segment exists" if one else "those segments exist")
            + " flagramp answers no for "
            + ("it" if one else "them")
            + " (the Ruby app keeps its own answer)"
        )
    if inspection.stray_rows:
        said.append(
            "gate rows without a feature row ("
            + ", ".join(f"{k!r}: {n}" for k, n in inspection.stray_rows.items())
            + ") are not adopted, as Flipper's get_all skips them; Ruby's "
            "`enabled?` by name still reads them"
        )
    if inspection.unknown_gates:
        said.append(
            "rows of gate keys Flipper does not read ("
            + ", ".join(inspection.unknown_gates)
            + ") are left as they are"
        )
    if not flipper.schema.holds_text:
        said.append(
            f"the value column is {inspection.value_type} (Flipper 0.25's "
            "migration): flags with eligibility, a deny list or an expression "
            "would be refused in this environment"
        )
    if inspection.collation:
        said.append(
            f"keys and values compare with {inspection.collation} (case- or "
            "accent-insensitive): flags, actors or groups differing only so "
            "would be refused"
        )
    said.append(
        "a plan's shared_users would be refused in this environment: Ruby "
        "Flipper buckets every flag on its own name"
    )
    return said


def _agrees(
    flag: Flag,
    report: FeatureReport,
    flipper: FlipperDatabase,
    segments: Mapping[str, Segment],
) -> bool:
    ours = rows_or_none(flag, segments, flipper.schema, flipper.url.environment)
    return ours is not None and ours == report.rows


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _number(text: str | None) -> float:
    return Percentage.from_flipper(text or "0").value
