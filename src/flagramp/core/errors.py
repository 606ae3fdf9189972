"""The exceptions flagramp raises, one root and one base per layer.

    FlagrampError
    ├── FlagError            core/flags: bad percentages, expressions, segments
    │   ├── InvalidPercentage (ValueError)
    │   ├── InvalidExpression (ValueError)
    │   └── InvalidSegment    (ValueError)
    ├── PlanError            core/plans
    ├── StatsError           stats
    ├── StoreError           store
    │   ├── FlagNotFound
    │   ├── ImportInvalid     (ValueError)
    │   └── StoreUnavailable  the database cannot be reached or opened
    ├── AuditError           store/audit: the chain does not verify
    ├── EventError           core/events: an event or batch is malformed
    ├── SourceError          sources
    └── EngineError          engine

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
