"""The exceptions flagramp raises, one root and one base per layer.

    FlagrampError
    ├── FlagError            core/flags: bad percentages, expressions, segments
    │   ├── InvalidPercentage (ValueError)
    │   ├── InvalidExpression (ValueError)
    │   ├── InvalidSegment    (ValueError)
    │   └── InvalidIdentifier (ValueError) a key, name, actor id or author
    ├── PlanError            core/plans
    ├── StatsError           stats
    ├── StoreError           store
    │   ├── FlagNotFound
    │   ├── SegmentNotFound
    │   ├── SegmentInUse
    │   ├── ImportInvalid     (ValueError)
    │   ├── StoreUnavailable  the database cannot be reached or opened
    │   ├── AuditKeyError     the audit key cannot be read, made or used
    │   ├── FlipperTablesNotFound   no Flipper tables where the URL points
    │   ├── FlipperTablesCannotHold a flag Flipper's tables cannot express
    │   ├── SharedUsersUnsupported  the store buckets each flag on its own key
    │   ├── EnvironmentNotFound
    │   ├── TokenNotFound     no API token by that id
    │   ├── InvalidToken      (ValueError) a token that cannot be issued as asked
    │   └── BackupError       store/backups: a backup cannot be made or restored
    │       ├── BackupDamaged         (ValueError) not a whole flagramp backup
    │       ├── BackupRevisionUnknown a schema this flagramp does not know
    │       ├── BackupKeyMissing      the audit keys its rows are signed with
    │       ├── BackupUnverified      restored rows do not verify as backed up
    │       ├── TablesNotDescribed    tables the migrations make, unknown here
    │       ├── TargetNotEmpty        a full restore over a store in use
    │       └── SnapshotNotFound      no environment snapshot by that id
    ├── AuditError           store/audit: the chain does not verify
    ├── EventError           core/events: an event or batch is malformed
    ├── SourceError          sources
    ├── EngineError          engine
    │   └── NotificationError engine/notify: notices, webhooks, deliveries
    │       ├── NoticeInvalid     (ValueError)
    │       ├── WebhookInvalid    (ValueError)
    │       ├── WebhookNotFound   (KeyError)
    │       └── DeliveryNotFound  (KeyError)
    ├── ReportError          reports: a run record or report cannot be made
    ├── SimError             sim: the traffic simulator
    │   └── InvalidScenario   (ValueError)
    └── SdkError             sdk: the client library
        ├── InvalidClientOption (ValueError) a client built with a bad option
        └── InvalidSnapshot   (ValueError) a snapshot, bootstrap file or cache unread

Exceptions take structured arguments and build their own message, so callers (the
CLI, later the API's problem documents) can show `code` and `message` without parsing.
"""

from __future__ import annotations


class FlagrampError(Exception):
    """Root of every error flagramp raises on purpose."""

    code = "flagramp_error"


class FlagError(FlagrampError):
    """A flag, gate value or segment is not valid."""

    code = "flag_error"


class InvalidPercentage(FlagError, ValueError):
    """A percentage outside 0..100, or with more than three decimals."""

    code = "invalid_percentage"

    def __init__(self, value: object) -> None:
        self.value = value
        super().__init__(
            f"percentage {value!r} must be a number from 0 to 100 "
            "with at most 3 decimals"
        )


class InvalidExpression(FlagError, ValueError):
    """A Flipper expression that cannot be built."""

    code = "invalid_expression"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"invalid expression: {detail}")


class InvalidSegment(FlagError, ValueError):
    """A segment rule that cannot be parsed."""

    code = "invalid_segment"

    def __init__(self, rule: str, detail: str) -> None:
        self.rule = rule
        self.detail = detail
        super().__init__(f"invalid segment rule {rule!r}: {detail}")


class InvalidIdentifier(FlagError, ValueError):
    """A flag key, segment or environment name, actor id or author that the store
    refuses (see `core/identifiers.py` for the rules)."""

    code = "invalid_identifier"

    #: How much of a refused value the message shows (a 10 KB key is cut short).
    SHOWN = 40

    def __init__(self, what: str, value: str, detail: str) -> None:
        self.what = what
        self.value = value
        self.detail = detail
        shown = value if len(value) <= self.SHOWN else value[: self.SHOWN] + "…"
        # repr() escapes control and format characters, so the message itself
        # never carries them to a terminal.
        super().__init__(f"invalid {what} {shown!r}: {detail}")


class PlanError(FlagrampError):
    """A release plan is not valid."""

    code = "plan_error"


class StatsError(FlagrampError):
    """A statistic was asked for with inputs it cannot use."""

    code = "stats_error"


class StoreError(FlagrampError):
    """The store could not do what was asked; nothing was written."""

    code = "store_error"


class FlagNotFound(StoreError, KeyError):
    """No flag by that key in that environment."""

    code = "flag_not_found"

    def __init__(self, key: str, environment: str) -> None:
        self.key = key
        self.environment = environment
        super().__init__(f"no flag {key!r} in environment {environment!r}")

    def __str__(self) -> str:
        # KeyError quotes its argument; show the sentence as written.
        return str(self.args[0])


class SegmentNotFound(StoreError, KeyError):
    """No segment by that name in that environment."""

    code = "segment_not_found"

    def __init__(self, name: str, environment: str) -> None:
        self.name = name
        self.environment = environment
        super().__init__(f"no segment {name!r} in environment {environment!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class SegmentInUse(StoreError):
    """A segment cannot be deleted while flags are limited to it."""

    code = "segment_in_use"

    def __init__(self, name: str, environment: str, flags: list[str]) -> None:
        self.name = name
        self.environment = environment
        self.flags = flags
        shown = ", ".join(repr(f) for f in flags[:5])
        more = f" and {len(flags) - 5} more" if len(flags) > 5 else ""
        super().__init__(
            f"segment {name!r} in environment {environment!r} is the eligibility "
            f"of {shown}{more}"
        )


class AuditKeyError(StoreError):
    """The audit key cannot be read, created or used."""

    code = "audit_key_error"

    def __init__(self, source: str, detail: str) -> None:
        self.source = source
        self.detail = detail
        super().__init__(f"audit key {source}: {detail}")


class ImportInvalid(StoreError, ValueError):
    """An import document (Flipper export, features.yml) is malformed."""

    code = "import_invalid"

    def __init__(self, source: str, detail: str) -> None:
        self.source = source
        self.detail = detail
        super().__init__(f"{source}: {detail}")


class StoreUnavailable(StoreError):
    """The database cannot be reached or opened: nothing was read or written."""

    code = "store_unavailable"

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"cannot connect to {url}: {reason}")


class FlipperTablesNotFound(StoreError):
    """The database has no Flipper tables (`flipper_features`, `flipper_gates`)
    of the expected shape; flagramp never creates or migrates them."""

    code = "flipper_tables_not_found"

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        self.detail = detail
        super().__init__(
            f"no Flipper tables at {url}: {detail} (flagramp never creates or "
            "changes Flipper's tables; run Flipper's own migration, "
            "`rails g flipper:active_record`)"
        )


class FlipperTablesCannotHold(StoreError):
    """A flag whose rules Flipper's tables cannot express (an expression on
    Flipper 0.25's varchar `value`, say); nothing was written."""

    code = "flipper_tables_cannot_hold"

    def __init__(self, key: str, environment: str, reason: str) -> None:
        self.key = key
        self.environment = environment
        self.reason = reason
        super().__init__(
            f"flag {key!r} in {environment!r} cannot be kept in Flipper's tables: "
            f"{reason}"
        )


class SharedUsersUnsupported(StoreError):
    """Flags asked to share their users (bucket on one flag's key) on a store
    whose readers bucket every flag on its own key (Flipper's tables)."""

    code = "shared_users_unsupported"

    def __init__(self, flags: list[str], environment: str) -> None:
        self.flags = flags
        self.environment = environment
        shown = ", ".join(repr(f) for f in flags)
        super().__init__(
            f"flags {shown} in {environment!r} cannot share their users on "
            "Flipper's tables: Ruby Flipper buckets every flag on its own name, so "
            "the Ruby app would give each flag different users; use flagramp's own "
            "store, or give each flag its own phase"
        )


class BackupError(StoreError):
    """A backup cannot be made, read or restored; nothing was written."""

    code = "backup_error"


class BackupDamaged(BackupError, ValueError):
    """A backup file that is not a whole flagramp backup: damaged, cut short,
    changed after it was written, or not a backup at all."""

    code = "backup_damaged"

    def __init__(self, source: str, detail: str) -> None:
        self.source = source
        self.detail = detail
        super().__init__(f"{source} is not a whole flagramp backup: {detail}")


class BackupRevisionUnknown(BackupError):
    """A backup at a schema revision this flagramp does not ship (a newer one)."""

    code = "backup_revision_unknown"

    def __init__(self, revision: str, head: str) -> None:
        self.revision = revision
        self.head = head
        super().__init__(
            f"the backup is at schema revision {revision!r}, which this flagramp "
            f"does not know (it is at {head!r}): restore it with the flagramp that "
            "made it, or a newer one"
        )


class BackupKeyMissing(BackupError):
    """The audit keys a backup's rows are signed with are not configured here."""

    code = "backup_key_missing"

    def __init__(self, key_ids: list[str], source: str) -> None:
        self.key_ids = key_ids
        self.source = source
        shown = ", ".join(key_ids)
        super().__init__(
            f"the backup's audit rows are signed with key(s) {shown}, which "
            f"{source} does not hold: configure them (FLAGRAMP_AUDIT_KEY or the key "
            "file kept with the backups) and restore again"
        )


class BackupUnverified(BackupError):
    """The rows loaded from a backup do not verify as they did when it was made."""

    code = "backup_unverified"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"the restored audit log does not verify: {detail}")


class TablesNotDescribed(BackupError):
    """flagramp's migrations make tables that this process's metadata lacks, so a
    backup would leave them out."""

    code = "tables_not_described"

    def __init__(self, tables: list[str]) -> None:
        self.tables = tables
        shown = ", ".join(tables)
        super().__init__(
            f"flagramp's migrations make table(s) {shown}, which no module loaded "
            "here describes on flagramp.store.tables.metadata: a backup would leave "
            "them out"
        )


class TargetNotEmpty(BackupError):
    """A full restore into a store that already holds flags, history or runs."""

    code = "target_not_empty"

    def __init__(self, version: int, audit_rows: int, tables: list[str]) -> None:
        self.version = version
        self.audit_rows = audit_rows
        self.tables = tables
        shown = ", ".join(tables[:5]) + (" …" if len(tables) > 5 else "")
        super().__init__(
            f"the target store is not empty (store version {version}, "
            f"{audit_rows} audit row(s), rows in {shown}): restore with --force "
            "to replace everything in it"
        )


class SnapshotNotFound(BackupError, KeyError):
    """No environment snapshot by that id."""

    code = "snapshot_not_found"

    def __init__(self, snapshot_id: str) -> None:
        self.snapshot_id = snapshot_id
        super().__init__(f"no environment snapshot {snapshot_id!r}")


class EnvironmentNotFound(StoreError, KeyError):
    """No environment by that name in the store."""

    code = "environment_not_found"

    def __init__(self, environment: str) -> None:
        self.environment = environment
        super().__init__(f"no environment {environment!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class TokenNotFound(StoreError, KeyError):
    """No API token by that id."""

    code = "token_not_found"

    def __init__(self, token_id: str) -> None:
        self.token_id = token_id
        super().__init__(f"no API token {token_id!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidToken(StoreError, ValueError):
    """An API token that cannot be issued as asked (owner, permission, scope)."""

    code = "invalid_token"

    def __init__(self, field: str, detail: str) -> None:
        self.field = field
        self.detail = detail
        super().__init__(f"token {field}: {detail}")


class AuditError(FlagrampError):
    """The audit chain does not verify."""

    code = "audit_broken"


class EventError(FlagrampError, ValueError):
    """An event or batch of events is malformed."""

    code = "invalid_event"


class SourceError(FlagrampError):
    """A metric source failed or answered something unusable."""

    code = "source_error"


class EngineError(FlagrampError):
    """The engine cannot make the requested transition."""

    code = "engine_error"


class NotificationError(EngineError):
    """A notice, webhook or delivery cannot be written or sent as asked."""

    code = "notification_error"


class NoticeInvalid(NotificationError, ValueError):
    """A notice with a field the outbox cannot keep."""

    code = "notice_invalid"

    def __init__(self, field: str, detail: str) -> None:
        self.field = field
        self.detail = detail
        super().__init__(f"notice {field}: {detail}")


class WebhookInvalid(NotificationError, ValueError):
    """A webhook URL, format, secret or kind that cannot be used."""

    code = "webhook_invalid"

    def __init__(self, field: str, value: str, detail: str) -> None:
        self.field = field
        self.value = value
        self.detail = detail
        super().__init__(f"webhook {field} {value!r}: {detail}")


class WebhookNotFound(NotificationError, KeyError):
    """No webhook by that id in that environment."""

    code = "webhook_not_found"

    def __init__(self, webhook_id: int, environment: str) -> None:
        self.webhook_id = webhook_id
        self.environment = environment
        super().__init__(f"no webhook {webhook_id} in environment {environment!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class DeliveryNotFound(NotificationError, KeyError):
    """No outbox row by that delivery id."""

    code = "delivery_not_found"

    def __init__(self, delivery_id: str) -> None:
        self.delivery_id = delivery_id
        super().__init__(f"no notification delivery {delivery_id!r}")

    def __str__(self) -> str:
        return str(self.args[0])


class ReportError(FlagrampError):
    """A report cannot be made: a run record is malformed, a plan unreadable."""

    code = "report_error"

    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        self.reason = reason
        super().__init__(f"{what}: {reason}")


class SimError(FlagrampError):
    """The simulator was asked for traffic it cannot simulate."""

    code = "sim_error"


class InvalidScenario(SimError, ValueError):
    """A scenario, event model, population or flag state that is not valid."""

    code = "invalid_scenario"

    def __init__(self, where: str, detail: str) -> None:
        self.where = where
        self.detail = detail
        super().__init__(f"{where}: {detail}")


class SdkError(FlagrampError):
    """The SDK client cannot do what was asked (never raised by `is_enabled`)."""

    code = "sdk_error"


class InvalidClientOption(SdkError, ValueError):
    """A client built with an option it cannot work with."""

    code = "invalid_client_option"

    def __init__(self, option: str, detail: str) -> None:
        self.option = option
        self.detail = detail
        super().__init__(f"option {option!r}: {detail}")


class InvalidSnapshot(SdkError, ValueError):
    """A snapshot document (from the server, a bootstrap file or the cache) that
    cannot be read; `source` names where it came from."""

    code = "invalid_snapshot"

    def __init__(self, source: str, detail: str) -> None:
        self.source = source
        self.detail = detail
        super().__init__(f"{source}: {detail}")
