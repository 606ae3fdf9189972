"""The store: flags, segments and environments in SQL, with an audit chain."""

from __future__ import annotations

from flagramp.store.audit import AuditEntry, AuditProblem
from flagramp.store.database import database_url, open_engine, upgrade
from flagramp.store.flag_store import DEFAULT_ENVIRONMENT, Author, FlagStore
from flagramp.store.interchange import (
    export_json,
    import_features_yml,
    import_flipper,
    read_import_file,
)

__all__ = [
    "DEFAULT_ENVIRONMENT",
    "AuditEntry",
    "AuditProblem",
    "Author",
    "FlagStore",
    "database_url",
    "export_json",
    "import_features_yml",
    "import_flipper",
    "open_engine",
    "read_import_file",
    "upgrade",
]
