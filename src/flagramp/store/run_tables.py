"""Tables of plan runs: the run row, its event log, plan versions and incidents.

Defined on the store's one `metadata` (so backups and migrations see them);
created by migration `0010_runs`. Documents (the run's state, event data,
incident records) are canonical JSON text, as elsewhere; times are ISO 8601 text
in UTC. The engine writes all four in the unit of work of a transition
(`engine/runner.py`), so they always agree with the flags and the audit log.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table

from flagramp.core.identifiers import AUTHOR_MAX, ENTITY_KEY_MAX, ENVIRONMENT_MAX
from flagramp.store.tables import Document, Name, metadata

#: Longest run id (`R12`, `vaos-3`): an entity key, so notices and audit rows
#: can name it.
RUN_ID_MAX = ENTITY_KEY_MAX
#: Longest incident id within a run (`I1`, `I2`, ...).
INCIDENT_ID_MAX = 64

#: One row per plan execution. `plan_text` is the adopted plan exactly as given
#: (`plan_hash` its SHA-256; a revision adopts a new version, see
#: `run_plan_versions`). `version` grows by one with every transition: a writer
#: names the version it read, so two writers never both move a run
#: (optimistic concurrency). `watched_version` is the store version up to which
#: the controller has looked for changes made outside the run.
runs = Table(
    "runs",
    metadata,
    Column("id", Name(RUN_ID_MAX), primary_key=True),
    Column("plan_name", Name(ENTITY_KEY_MAX), nullable=False),
    Column("environment", Name(ENVIRONMENT_MAX), nullable=False),
    Column("plan_text", Document, nullable=False),
    Column("plan_hash", String(64), nullable=False),
    Column("plan_version", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("state", Document, nullable=False),
    Column("observe", Boolean, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("watched_version", BigInteger, nullable=False),
    Column("created_by", Name(AUTHOR_MAX), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Index("ix_runs_status", "status", "id"),
)

#: The run's append-only log: `seq` counts from 1 without gaps. `store_version`
#: is the unit of work that wrote the entry, which tells the run's own flag
#: changes apart from changes made outside it.
run_events = Table(
    "run_events",
    metadata,
    Column("run", Name(RUN_ID_MAX), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at", String(40), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("actor", Name(AUTHOR_MAX), nullable=True),
    Column("data", Document, nullable=False),
    Column("store_version", BigInteger, nullable=False),
    Index("ix_run_events_version", "run", "store_version"),
)

#: Every version of a run's plan: 1 is the plan the run started with; each
#: `flagramp run revise` adds one with the diff from the one before.
run_plan_versions = Table(
    "run_plan_versions",
    metadata,
    Column("run", Name(RUN_ID_MAX), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("text", Document, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("diff", Document, nullable=False),
    Column("adopted_by", Name(AUTHOR_MAX), nullable=True),
    Column("at", String(40), nullable=False),
)

#: A run's incidents (rollbacks, kills, incidents raised by people): the whole
#: record as JSON, replaced as it grows (verified, root cause, approval).
run_incidents = Table(
    "run_incidents",
    metadata,
    Column("run", Name(RUN_ID_MAX), primary_key=True),
    Column("incident", Name(INCIDENT_ID_MAX), primary_key=True),
    Column("record", Document, nullable=False),
    Column("updated_at", String(40), nullable=False),
)
