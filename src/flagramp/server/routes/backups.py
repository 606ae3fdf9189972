"""Full backups of the server's store: make one, list them, download one,
restore one (`store.backups`, what `flagramp backup create|list|restore` calls).

The files live in the server's backup directory (`ServerSettings.backup_dir`,
`FLAGRAMP_BACKUP_DIR`, by default the same directory `flagramp backup` uses
for the store), and the routes name a backup by the id in its manifest. A
restore replaces everything in the store, tokens included, so it is refused on
a store that is not empty unless the request says `force`, and it is recorded
in the audit log as the CLI's is.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import Path
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from flagramp.core.errors import BackupError
from flagramp.core.identifiers import TEXT_MAX
from flagramp.server.identity import Identity, allow
from flagramp.server.problems import NOT_FOUND, ProblemError, responses
from flagramp.server.routes.common import AUTH_PROBLEMS, State, api_router
from flagramp.store import BackupRef, create_backup, list_backups, restore_backup
from flagramp.store.backups import SUFFIX, RestoreReport, read_backup
from flagramp.store.tokens import Permission

router = api_router("backups")

ADMIN = allow(Permission.ADMIN)
#: A backup's id as `store.backup_refs.new_backup_id` makes it; nothing else
#: names a file, so no request can reach outside the backup directory.
BACKUP_ID = r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$"
BackupId = Annotated[
    str,
    Path(
        pattern=BACKUP_ID, description="The backup's id (`20261201T220000Z-3fa29c1b`)"
    ),
]
ZIP = "application/zip"


class BackupView(BaseModel):
    """A full backup, from its manifest."""

    id: str
    label: str
    author: str
    created_at: str
    store_version: int = Field(description="The store version whose state it holds")
    rows: int = Field(description="Rows in every table")
    checksum: str = Field(description="SHA-256 of the manifest")
    audit_head: str | None
    file: str = Field(description="The file's name in the backup directory")


class UnreadableFile(BaseModel):
    """A file in the backup directory that is not a whole backup."""

    file: str
    problem: str


class BackupList(BaseModel):
    """The backup directory's backups, oldest first, and the files in it that
    are not whole backups."""

    backups: list[BackupView]
    unreadable: list[UnreadableFile]


class BackupRequest(BaseModel):
    label: str = Field("API backup", max_length=TEXT_MAX)


class RestoreRequest(BaseModel):
    force: bool = Field(
        False, description="Replace a store that is not empty (everything in it)"
    )
    why: str = Field("", max_length=TEXT_MAX)


class ReplacedStore(BaseModel):
    """What the store held before the restore."""

    store_version: int
    audit_head: str
    audit_rows: int
    tables: list[str]


class RestoredAudit(BaseModel):
    """The restored audit log as verified before the restore's own row."""

    ok: bool
    rows: int
    head: str
    problems: list[str]
    limits: list[str]


class RestoreView(BaseModel):
    backup: BackupView
    replaced: ReplacedStore | None
    migrated_from: str | None = Field(
        description="The schema revision the backup was made at, if it was migrated"
    )
    version: int = Field(description="The store version of the restore's audit row")
    audit: RestoredAudit


def _view(ref: BackupRef) -> BackupView:
    assert ref.path is not None  # a full backup is a file
    return BackupView(
        id=ref.id,
        label=ref.label,
        author=ref.author,
        created_at=ref.created_at.isoformat(),
        store_version=ref.store_version,
        rows=ref.rows,
        checksum=ref.checksum,
        audit_head=ref.audit_head,
        file=ref.path.name,
    )


def find_backup(directory: FilePath, backup_id: str) -> BackupRef:
    """The backup with this id in `directory`; 404 `not_found` if none.

    The file `create` names after the id is read first; a backup copied in
    under another name is found by reading every manifest."""
    named = directory / f"flagramp-{backup_id}{SUFFIX}"
    if named.is_file():
        try:
            ref = read_backup(named)
        except BackupError:
            ref = None
        if ref is not None and ref.id == backup_id:
            return ref
    for found in list_backups(directory):
        if found.ref is not None and found.ref.id == backup_id:
            return found.ref
    raise ProblemError(NOT_FOUND, f"no backup {backup_id!r} in the backup directory")


@router.post(
    "/backups",
    status_code=201,
    response_model=BackupView,
    responses=responses(*AUTH_PROBLEMS, 422),
)
def make_backup(
    state: State, who: Annotated[Identity, ADMIN], body: BackupRequest | None = None
) -> BackupView:
    """Back up every flagramp table to a new file in the backup directory, in
    one snapshot of the database (it writes nothing to the store)."""
    body = body or BackupRequest()
    ref = create_backup(
        state.store,
        label=body.label,
        author=who.author(),
        directory=state.backup_dir,
    )
    return _view(ref)


@router.get("/backups", response_model=BackupList, responses=responses(*AUTH_PROBLEMS))
def backups(
    state: State, who: Annotated[Identity, allow(Permission.OPERATOR)]
) -> BackupList:
    """The backups in the backup directory (their manifests are read, not
    their rows)."""
    files = list_backups(state.backup_dir)
    return BackupList(
        backups=[_view(f.ref) for f in files if f.ref is not None],
        unreadable=[
            UnreadableFile(file=f.path.name, problem=f.problem or "")
            for f in files
            if f.ref is None
        ],
    )


@router.get(
    "/backups/{backup}",
    response_model=BackupView,
    responses=responses(*AUTH_PROBLEMS, 404, 422),
)
def backup(
    backup: BackupId,
    state: State,
    who: Annotated[Identity, allow(Permission.OPERATOR)],
) -> BackupView:
    """One backup's manifest."""
    return _view(find_backup(state.backup_dir, backup))


@router.get(
    "/backups/{backup}/file",
    response_class=FileResponse,
    responses={
        200: {
            "content": {ZIP: {"schema": {"type": "string", "format": "binary"}}},
            "description": "The backup file, as `flagramp backup restore` reads it",
        },
        **responses(*AUTH_PROBLEMS, 404, 422),
    },
)
def download_backup(
    backup: BackupId, state: State, who: Annotated[Identity, ADMIN]
) -> FileResponse:
    """The backup file (every row of the store: admins only)."""
    ref = find_backup(state.backup_dir, backup)
    assert ref.path is not None
    return FileResponse(ref.path, media_type=ZIP, filename=ref.path.name)


@router.post(
    "/backups/{backup}/restore",
    response_model=RestoreView,
    responses=responses(*AUTH_PROBLEMS, 404, 409, 422),
)
def restore(
    backup: BackupId,
    state: State,
    who: Annotated[Identity, ADMIN],
    body: RestoreRequest | None = None,
) -> RestoreView:
    """Replace everything in the store with the backup: one transaction,
    verified, then recorded in the audit log (kind `backup`, action
    `restore`). Refused (409 `target_not_empty`) on a store that is not empty
    unless `force`; the tokens become the backup's."""
    body = body or RestoreRequest()
    ref = find_backup(state.backup_dir, backup)
    assert ref.path is not None
    report = restore_backup(
        state.store, ref.path, author=who.author(body.why), force=body.force
    )
    return _restore_view(report)


def _restore_view(report: RestoreReport) -> RestoreView:
    replaced = report.replaced
    audit = report.audit
    return RestoreView(
        backup=_view(report.backup),
        replaced=None
        if replaced is None
        else ReplacedStore(
            store_version=replaced.version,
            audit_head=replaced.audit_head,
            audit_rows=replaced.audit_rows,
            tables=list(replaced.filled),
        ),
        migrated_from=report.migrated_from,
        version=report.version,
        audit=RestoredAudit(
            ok=audit.ok,
            rows=audit.rows,
            head=audit.head,
            problems=[str(p) for p in audit.problems],
            limits=list(audit.limits),
        ),
    )
