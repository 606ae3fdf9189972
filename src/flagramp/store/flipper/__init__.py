"""Flipper's own tables as a flag store: adopt in place, changes from outside."""

from __future__ import annotations

from flagramp.store.flipper.database import (
    FlagStoreUrl,
    FlipperDatabase,
    is_flipper_url,
    parse_flag_store_url,
)
from flagramp.store.flipper.outbox import PendingWrite
from flagramp.store.flipper.release import Release, release_flipper_tables
from flagramp.store.flipper.rows import FeatureRows
from flagramp.store.flipper.schema import FlipperSchema, FlipperTables
from flagramp.store.flipper.store import FlipperTablesStore, SyncReport
from flagramp.store.flipper.sync import (
    ADOPT_ACTION,
    OUTSIDE_ACTION,
    OUTSIDE_AUTHOR,
    Unreadable,
)
from flagramp.store.flipper.unit import FlipperUnitOfWork

__all__ = [
    "ADOPT_ACTION",
    "OUTSIDE_ACTION",
    "OUTSIDE_AUTHOR",
    "FeatureRows",
    "FlagStoreUrl",
    "FlipperDatabase",
    "FlipperSchema",
    "FlipperTables",
    "FlipperTablesStore",
    "FlipperUnitOfWork",
    "PendingWrite",
    "Release",
    "SyncReport",
    "Unreadable",
    "is_flipper_url",
    "parse_flag_store_url",
    "release_flipper_tables",
]
