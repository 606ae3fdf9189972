"""An OpenFeature provider backed by a flagramp client.

    from openfeature import api
    api.set_provider(OpenFeatureProvider(client))
    flags = api.get_client()
    flags.get_boolean_value("new_checkout", False,
                            EvaluationContext("User;42", {"ehr": "oracle"}))

The targeting key is the actor's flipper id and the context's scalar attributes
are its properties. flagramp flags are boolean (Flipper's): the other types answer
the caller's default with TYPE_MISMATCH. Reasons: STATIC for the boolean gate,
SPLIT for percentages (in or out of the bucket), TARGETING_MATCH for actors,
groups, expressions and flagramp's deny and eligibility rules, DISABLED for a
flag that is off, DEFAULT otherwise; the variant is `on` or `off` and the
metadata names the deciding gate and the store version. Every change the client
applies is a PROVIDER_CONFIGURATION_CHANGED event listing the flags it touched;
`track` records a business event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence

from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEventDetails
from openfeature.exception import (
    FlagNotFoundError,
    GeneralError,
    ProviderNotReadyError,
    TypeMismatchError,
)
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason
from openfeature.provider import AbstractProvider, Metadata
from openfeature.track import TrackingEventDetails

from flagramp.core.types import Json, PropertyValue
from flagramp.sdk._base import BaseClient
from flagramp.sdk._client import Client
from flagramp.sdk._models import FlagDetails, FlagsChanged

_PERCENTAGE_GATES = ("percentage_of_actors", "percentage_of_time")
_TARGETING_GATES = ("actor", "group", "expression", "deny", "eligibility")


class OpenFeatureProvider(AbstractProvider):
    """OpenFeature's provider interface over a `Client` or `AsyncClient`.

    `initialize` waits up to `ready_timeout` seconds for the server's flags (a
    `Client` only; an `AsyncClient` cannot be awaited there) and succeeds if the
    client serves flags from anywhere (server, cache, bootstrap); otherwise it
    raises PROVIDER_NOT_READY and sends PROVIDER_READY once flags arrive.
    `shutdown` leaves the client open: its owner closes it.
    """

    def __init__(self, client: BaseClient, *, ready_timeout: float = 5.0) -> None:
        super().__init__()
        self.client = client
        self.ready_timeout = ready_timeout
        self._remove_listener: Callable[[], None] | None = None
        self._waiting_for_flags = False

    def get_metadata(self) -> Metadata:
        return Metadata(name="flagramp")

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        if self._remove_listener is None:
            self._remove_listener = self.client.on_change(self._changed)
        if isinstance(self.client, Client):
            self.client.wait_until_ready(self.ready_timeout)
        if self.client.version is None:
            self._waiting_for_flags = True
            raise ProviderNotReadyError("the flagramp client has no flags yet")

    def shutdown(self) -> None:
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        actor, properties = _actor_of(evaluation_context)
        details = self.client.evaluate(flag_key, actor, properties, default_value)
        if details.error == "not_ready":
            raise ProviderNotReadyError(details.reason)
        if details.error == "flag_not_found":
            raise FlagNotFoundError(details.reason)
        if details.error is not None:
            raise GeneralError(details.reason)
        metadata: dict[str, bool | int | float | str] = {"gate": details.gate}
        if details.version is not None:
            metadata["version"] = details.version
        return FlagResolutionDetails(
            value=details.enabled,
            reason=_reason(details, self.client),
            variant=details.variant,
            flag_metadata=metadata,
        )

    def resolve_string_details(
        self,
        flag_key: str,
        default_value: str,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[str]:
        raise _not_boolean(flag_key)

    def resolve_integer_details(
        self,
        flag_key: str,
        default_value: int,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[int]:
        raise _not_boolean(flag_key)

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        raise _not_boolean(flag_key)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        raise _not_boolean(flag_key)

    def track(
        self,
        tracking_event_name: str,
        evaluation_context: EvaluationContext | None = None,
        tracking_event_details: TrackingEventDetails | None = None,
    ) -> None:
        actor, _properties = _actor_of(evaluation_context)
        if actor is None:
            return  # a business event without an actor cannot be counted
        value = None if tracking_event_details is None else tracking_event_details.value
        attributes: dict[str, Json] = {}
        if tracking_event_details is not None:
            attributes = {
                k: v
                for k, v in tracking_event_details.attributes.items()
                if isinstance(v, str | int | float | bool)
            }
        self.client.track(
            tracking_event_name, actor, value=value, attributes=attributes or None
        )

    def _changed(self, change: FlagsChanged) -> None:
        if self._waiting_for_flags:
            self._waiting_for_flags = False
            self.emit_provider_ready(
                ProviderEventDetails(flags_changed=list(change.keys))
            )
            return
        self.emit_provider_configuration_changed(
            ProviderEventDetails(
                flags_changed=list(change.keys),
                metadata={"version": change.version, "source": change.source},
            )
        )


def _actor_of(
    context: EvaluationContext | None,
) -> tuple[str | None, dict[str, PropertyValue]]:
    if context is None:
        return None, {}
    properties: dict[str, PropertyValue] = {}
    for name, value in context.attributes.items():
        if isinstance(value, str | int | float | bool):
            properties[name] = value
        elif isinstance(value, dt.datetime):
            properties[name] = value.isoformat()
    return context.targeting_key or None, properties


def _reason(details: FlagDetails, client: BaseClient) -> Reason:
    gate = details.gate
    if gate == "boolean":
        return Reason.STATIC
    if gate in _PERCENTAGE_GATES:
        return Reason.SPLIT
    if gate in _TARGETING_GATES:
        return Reason.TARGETING_MATCH
    flag = client._table.entries.get(details.key)
    if flag is not None:
        if flag.flag.state == "off":
            return Reason.DISABLED
        pct = flag.flag.percentage_of_actors
        if pct is not None and not pct.is_zero:
            return Reason.SPLIT
    return Reason.DEFAULT


def _not_boolean(flag_key: str) -> TypeMismatchError:
    return TypeMismatchError(f"flagramp flag {flag_key!r} is boolean")
