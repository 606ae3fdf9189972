"""`audit verify`: the chain, and the stored state replayed from it.

Two checks over one snapshot of the store:

1. The chain: every row follows the one before it and its hash is what the key
   (or, for rows from before keying, plain SHA-256) gives for its content; the head
   kept in `store_meta` names the last row and the row count.
2. The replay: for every flag and segment, each row's `before` is the `after` of
   the row before it, and the stored document equals the last `after`. A flag
   edited in the database directly (turned fully on, say) is named with its first
   difference, even when no key is at hand.

Pure: backends hand in their rows; nothing here reads a database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flagramp.store.audit import (
    GENESIS,
    AuditEntry,
    AuditProblem,
    AuditReport,
    DamagedRow,
    keyed_hash,
    legacy_hash,
)
from flagramp.store.audit_keys import AuditKeyring

#: Entity kinds whose stored documents the store holds and replay checks.
REPLAYED_KINDS = ("flag", "segment")

Identity = tuple[str, str, str]  # (kind, environment, key)


@dataclass(frozen=True, slots=True)
class StoredEntity:
    """A flag or segment as the store holds it (`document` as read: text, or
    whatever was put into the column)."""

    kind: str
    environment: str
    key: str
    document: object


def verify(
    rows: Iterable[Mapping[Any, object]],
    head: tuple[object, object],
    stored: Iterable[StoredEntity],
    keyring: AuditKeyring,
) -> AuditReport:
    """Check the rows (oldest first), the head `(hash, count)` and the stored
    entities; the report names every problem and what could not be checked."""
    problems: list[AuditProblem] = []
    replay: dict[Identity, tuple[str | None, int]] = {}
    unkeyed: list[int] = []
    unchecked: dict[str, list[int]] = {}
    used_keys: dict[str, None] = {}
    expected_prev, count, keyed = GENESIS, 0, False
    for raw in rows:
        count += 1
        try:
            entry = AuditEntry.from_row(raw)
        except DamagedRow as damaged:
            problems.append(AuditProblem(_row_id(raw, count), str(damaged)))
            expected_prev = str(raw.get("hash"))
            continue
        if entry.prev_hash != expected_prev:
            problems.append(
                AuditProblem(
                    entry.id,
                    "does not follow the row before it "
                    "(a row was deleted or re-ordered)",
                )
            )
        expected = None
        if entry.key_id is None:
            if keyed:
                problems.append(
                    AuditProblem(entry.id, "is unkeyed but comes after keyed rows")
                )
            unkeyed.append(entry.id)
            expected = legacy_hash(entry.prev_hash, entry.content())
        else:
            keyed = True
            used_keys[entry.key_id] = None
            key = keyring.key(entry.key_id)
            if key is None and keyring.key_ids():
                # A keyring that holds keys but not this one: an old key was
                # dropped, or someone relabelled the row to dodge the check.
                problems.append(
                    AuditProblem(
                        entry.id,
                        f"is signed with key {entry.key_id}, which "
                        f"{keyring.source} does not hold (an old key was dropped "
                        "from it, or the row's key id was changed)",
                    )
                )
            elif key is None:
                unchecked.setdefault(entry.key_id, []).append(entry.id)
            else:
                expected = keyed_hash(
                    key, entry.key_id, entry.prev_hash, entry.content()
                )
        if expected is not None and expected != entry.hash:
            problems.append(AuditProblem(entry.id, "its contents were edited"))
        expected_prev = entry.hash
        if entry.entity_kind in REPLAYED_KINDS:
            _replay_row(entry, replay, problems)
    problems += _check_head(head, expected_prev, count)
    problems += _check_state(stored, replay)
    limits = _limits(unkeyed, unchecked, keyring)
    return AuditReport(
        rows=count,
        head=expected_prev,
        problems=tuple(problems),
        limits=limits,
        key_ids=tuple(used_keys),
    )


def first_difference(stored: str, history: str | None) -> str:
    """Where two documents first differ, for people: `gates.boolean is "true"
    in the store, null in the history`."""
    if history is None:
        return "it exists in the store, but its history ends in a delete"
    try:
        left, right = json.loads(stored), json.loads(history)
    except ValueError:
        return "the stored document is not JSON"
    path, a, b = _diff(left, right, ())
    where = ".".join(path) or "the document"
    return f"{where} is {_show(a)} in the store, {_show(b)} in the history"


def _replay_row(
    entry: AuditEntry,
    replay: dict[Identity, tuple[str | None, int]],
    problems: list[AuditProblem],
) -> None:
    identity = (entry.entity_kind, entry.environment, entry.entity_key)
    previous, previous_row = replay.get(identity, (None, 0))
    if entry.before != previous:
        after_what = f"audit row {previous_row}" if previous_row else "no history"
        problems.append(
            AuditProblem(
                entry.id,
                f"its 'before' of {_subject(identity)} is not what {after_what} "
                "left (a change was made outside the audit log)",
            )
        )
    replay[identity] = (entry.after, entry.id)


def _check_head(
    head: tuple[object, object], last_hash: str, count: int
) -> list[AuditProblem]:
    head_hash, head_count = head
    if not isinstance(head_hash, str) or not isinstance(head_count, int):
        return [AuditProblem(None, "the stored head is damaged (not a hash and count)")]
    if head_hash == last_hash and head_count == count:
        return []
    return [
        AuditProblem(
            None,
            f"the newest {head_count} rows end in {head_hash[:12]}…, but the table "
            f"has {count} rows ending in {last_hash[:12]}… "
            "(rows were cut off the end)",
        )
    ]


def _check_state(
    stored: Iterable[StoredEntity], replay: Mapping[Identity, tuple[str | None, int]]
) -> list[AuditProblem]:
    problems: list[AuditProblem] = []
    seen: set[Identity] = set()
    for entity in stored:
        identity = (entity.kind, entity.environment, entity.key)
        seen.add(identity)
        subject = _subject(identity)
        history, row = replay.get(identity, (None, 0))
        if not isinstance(entity.document, str):
            what = DamagedRow("document", entity.document)
            problems.append(AuditProblem(None, f"its stored {what}", subject))
        elif row == 0:
            problems.append(
                AuditProblem(None, "has no audit history (written outside it)", subject)
            )
        elif entity.document != history:
            problems.append(
                AuditProblem(
                    None,
                    f"differs from its audit history (row {row}): "
                    + first_difference(entity.document, history),
                    subject,
                )
            )
    for identity, (after, row) in replay.items():
        if after is not None and identity not in seen:
            problems.append(
                AuditProblem(
                    None,
                    f"is missing, but its audit history (row {row}) says it exists",
                    _subject(identity),
                )
            )
    return problems


def _limits(
    unkeyed: list[int], unchecked: Mapping[str, list[int]], keyring: AuditKeyring
) -> tuple[str, ...]:
    limits: list[str] = []
    if unkeyed:
        limits.append(
            f"{len(unkeyed)} row(s) ({_span(unkeyed)}) were written before the "
            "chain was keyed: someone who can write the database could have "
            "rewritten them and recomputed their hashes"
        )
    for missing, row_ids in unchecked.items():
        limits.append(
            f"{len(row_ids)} row(s) ({_span(row_ids)}) are signed with key "
            f"{missing}, and no audit key is configured here ({keyring.source}): "
            "their hashes were not checked, so someone who can write the database "
            "could have rewritten them consistently; only the links between rows "
            "and the replay of flags and segments were checked"
        )
    return tuple(limits)


def _diff(
    a: object, b: object, path: tuple[str, ...]
) -> tuple[tuple[str, ...], object, object]:
    if isinstance(a, dict) and isinstance(b, dict):
        for name in sorted(set(a) | set(b)):
            if a.get(name, _ABSENT) != b.get(name, _ABSENT):
                return _diff(a.get(name, _ABSENT), b.get(name, _ABSENT), (*path, name))
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return _diff(x, y, (*path, str(index)))
    return path, a, b


class _Absent:
    def __repr__(self) -> str:
        return "absent"


_ABSENT = _Absent()


def _show(value: object) -> str:
    if value is _ABSENT:
        return "absent"
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 60 else text[:59] + "…"


def _subject(identity: Identity) -> str:
    kind, environment, key = identity
    return f"{kind} {key!r} in {environment!r}"


def _span(row_ids: list[int]) -> str:
    if len(row_ids) == 1:
        return f"row {row_ids[0]}"
    return f"rows {row_ids[0]}–{row_ids[-1]}"


def _row_id(raw: Mapping[Any, object], position: int) -> int:
    value = raw.get("id")
    return value if isinstance(value, int) else position
