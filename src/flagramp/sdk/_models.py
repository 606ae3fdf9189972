"""Values the client hands to its callers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FlagDetails:
    """One evaluation with its reasons, for people and for OpenFeature.

    `gate` is the deciding Flipper gate (`boolean`, `actor`,
    `percentage_of_actors`...), a flagramp rule (`deny`, `eligibility`),
    `default` when no gate is open, or `none` when the caller's default was
    returned; then `error` says why (`flag_not_found`, `not_ready`,
    `evaluation_error`).
    """

    key: str
    enabled: bool
    gate: str
    reason: str
    version: int | None = None
    error: str | None = None

    @property
    def variant(self) -> str:
        """`on` or `off`: the variant exposures and outcomes are counted under."""
        return "on" if self.enabled else "off"


@dataclass(frozen=True, slots=True)
class FlagsChanged:
    """The client now serves store version `version`; these flags' answers may
    have changed (a segment change lists every flag that reads the segment)."""

    version: int
    keys: tuple[str, ...]
    source: str
