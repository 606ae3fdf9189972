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
    │   └── AuditKeyError     the audit key cannot be read, made or used
    ├── AuditError           store/audit: the chain does not verify
    ├── EventError           core/events: an event or batch is malformed
    ├── SourceError          sources
    ├── EngineError          engine
    │   └── NotificationError engine/notify: notices, webhooks, deliveries
    │       ├── NoticeInvalid     (ValueError)
    │       ├── WebhookInvalid    (ValueError)
    │       ├── WebhookNotFound   (KeyError)
    │       └── DeliveryNotFound  (KeyError)
    └── SimError             sim: the traffic simulator
        └── InvalidScenario   (ValueError)

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
