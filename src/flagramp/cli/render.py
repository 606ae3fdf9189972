"""Rich renderings of flags, explanations and history, shared by commands."""

from __future__ import annotations

import json

from rich.table import Table

from flagramp.cli.text import count
from flagramp.core.flags import Flag
from flagramp.store import AuditEntry
from flagramp.store.documents import flag_from_document


def flag_summary(flag: Flag) -> str:
    """One line: the gates that are set, in Flipper's order."""
    parts: list[str] = []
    if flag.boolean:
        parts.append("on for all")
    if flag.expression:
        parts.append("expression")
    if flag.actors:
        parts.append(count(len(flag.actors), "actor"))
    poa = flag.percentage_of_actors
    if poa is not None and not poa.is_zero:
        parts.append(f"{poa} of actors")
    pot = flag.percentage_of_time
    if pot is not None and not pot.is_zero:
        parts.append(f"{pot} of time")
    if flag.groups:
        parts.append("groups " + ", ".join(flag.groups))
    if flag.eligibility:
        parts.append(f"eligible: {flag.eligibility}")
    if flag.denied_actors:
        parts.append(f"{count(len(flag.denied_actors), 'actor')} denied")
    if flag.bucket_key is not None and parts:
        parts.append(f"users shared with {flag.bucket_key}")
    return "; ".join(parts) or "no gates"


def flag_table(flag: Flag, environment: str) -> Table:
    """The flag's gates and rules, one row each."""
    table = Table("gate", "value", title=f"{flag.key} in {environment}: {flag.state}")
    table.add_row("boolean", "true" if flag.boolean else "—")
    table.add_row(
        "expression", json.dumps(dict(flag.expression)) if flag.expression else "—"
    )
    table.add_row("actors", ", ".join(flag.actors) or "—")
    poa, pot = flag.percentage_of_actors, flag.percentage_of_time
    table.add_row("percentage_of_actors", str(poa) if poa else "—")
    table.add_row("percentage_of_time", str(pot) if pot else "—")
    table.add_row("groups", ", ".join(flag.groups) or "—")
    table.add_row("denied actors", ", ".join(flag.denied_actors) or "—")
    table.add_row("eligibility", flag.eligibility or "everyone")
    if flag.bucket_key is not None:
        table.add_row("bucket key", f"{flag.bucket_key} (shared users)")
    if flag.description:
        table.caption = flag.description
    return table


def history_table(key: str, entries: list[AuditEntry]) -> Table:
    """Who changed what and why, oldest first, numbered from 1 for this flag."""
    table = Table("#", "at", "who", "action", "why", "now", title=f"history of {key}")
    for number, entry in enumerate(entries, start=1):
        after = json.loads(entry.after) if entry.after else None
        now = "deleted"
        if after is not None:
            now = flag_summary(flag_from_document(after))
        table.add_row(
            str(number), entry.at[:19], entry.actor, entry.action, entry.reason, now
        )
    return table
