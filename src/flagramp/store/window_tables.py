"""Tables for metric windows and the keys of ingested batches.

Defined on the store's one `metadata`; created by migration 0002_metric_windows.
`data` is LONGBLOB on MySQL/MariaDB (migration 0003): BLOB holds only 64 KB, less
than a window with many sketches.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, String, Table
from sqlalchemy.dialects import mysql

from flagramp.store.tables import MYSQL, metadata

#: One row per run, flag, lane and covered minutes: minute windows as they arrive,
#: hour and day windows after compaction. `data` is `stats.windows.to_bytes`.
metric_windows = Table(
    "metric_windows",
    metadata,
    Column("run", String(255), primary_key=True),
    Column("flag", String(255), primary_key=True),
    Column("lane", String(16), primary_key=True),
    Column("start_minute", BigInteger, primary_key=True),
    Column("end_minute", BigInteger, primary_key=True),
    Column(
        "data", LargeBinary().with_variant(mysql.LONGBLOB(), *MYSQL), nullable=False
    ),
)

#: Keys of batches already added to a run's windows: a batch delivered twice
#: counts once. Written in the same transaction as the windows it added.
ingested_batches = Table(
    "ingested_batches",
    metadata,
    Column("run", String(255), primary_key=True),
    Column("batch_key", String(255), primary_key=True),
    Column("windows", Integer, nullable=False),
)
