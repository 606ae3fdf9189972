"""The OpenFeature provider, driven through the OpenFeature API itself."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import EventDetails, ProviderEvent
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason
from openfeature.provider import ProviderStatus
from openfeature.track import TrackingEventDetails

from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.sdk import Client, OpenFeatureProvider
from tests.sdk.fake_server import FakeServer, wait_for

FLAGS = [
    Flag(key="kill_switch", boolean=True),
    Flag(key="dark", description="off for all"),
    Flag(key="half", percentage_of_actors=Percentage.parse("50")),
    Flag(key="uat", actors=("User;1",)),
    Flag(key="oracle_only", boolean=True, eligibility="oracle"),
]


@pytest.fixture
def server() -> Iterator[FakeServer]:
    server = FakeServer()
    server.set_segment(Segment.from_rules("oracle", ["ehr == oracle"]))
    for flag in FLAGS:
        server.set_flag(flag)
    yield server
    server.close()


@pytest.fixture
def client(server: FakeServer) -> Iterator[Client]:
    client = Client(
        "http://flags.test",
        "t",
        "production",
        transport=server.transport(),
        flush_interval=3600,
        retry_base=0.01,
        retry_max=0.05,
    )
    yield client
    api.clear_providers()
    client.close(timeout=1)


def context(actor: str | None, **attributes: str) -> EvaluationContext:
    return EvaluationContext(actor, dict(attributes))


def bucket_of(client: Client, wanted: bool) -> str:
    return next(
        f"User;{i}"
        for i in range(1000)
        if client.is_enabled("half", f"User;{i}") is wanted
    )


def test_boolean_resolution_gives_the_value_the_reason_and_the_variant(
    client: Client,
) -> None:
    api.set_provider_and_wait(OpenFeatureProvider(client))
    flags = api.get_client()
    inside, outside = bucket_of(client, True), bucket_of(client, False)
    cases = [
        ("kill_switch", context("User;9"), True, Reason.STATIC, "on"),
        ("dark", context("User;9"), False, Reason.DISABLED, "off"),
        ("half", context(inside), True, Reason.SPLIT, "on"),
        ("half", context(outside), False, Reason.SPLIT, "off"),
        ("uat", context("User;1"), True, Reason.TARGETING_MATCH, "on"),
        ("uat", context("User;2"), False, Reason.DEFAULT, "off"),
        ("oracle_only", context("User;3", ehr="oracle"), True, Reason.STATIC, "on"),
        (
            "oracle_only",
            context("User;3", ehr="vista"),
            False,
            Reason.TARGETING_MATCH,
            "off",
        ),
    ]
    for key, ctx, value, reason, variant in cases:
        details = flags.get_boolean_details(key, not value, ctx)
        assert (details.value, details.reason, details.variant) == (
            value,
            reason,
            variant,
        ), key
        assert details.error_code is None
        assert details.flag_metadata["version"] == client.version
    assert (
        flags.get_boolean_details("uat", False, context("User;1")).flag_metadata["gate"]
        == "actor"
    )


def test_errors_answer_the_callers_default_with_the_openfeature_code(
    client: Client,
) -> None:
    api.set_provider_and_wait(OpenFeatureProvider(client))
    flags = api.get_client()
    missing = flags.get_boolean_details("no_such_flag", True, context("User;1"))
    assert (missing.value, missing.error_code) == (True, ErrorCode.FLAG_NOT_FOUND)
    typed = flags.get_string_details("kill_switch", "blue", context("User;1"))
    assert (typed.value, typed.error_code) == ("blue", ErrorCode.TYPE_MISMATCH)
    assert flags.get_integer_value("kill_switch", 3) == 3


def test_a_change_on_the_server_is_a_configuration_changed_event(
    server: FakeServer, client: Client
) -> None:
    api.set_provider_and_wait(OpenFeatureProvider(client))
    seen: list[EventDetails] = []
    arrived = threading.Event()

    def note(details: EventDetails) -> None:
        seen.append(details)
        arrived.set()

    api.get_client().add_handler(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, note)
    server.set_flag(Flag(key="dark", boolean=True))
    assert arrived.wait(5)
    assert seen[0].flags_changed == ["dark"]
    assert api.get_client().get_boolean_value("dark", False) is True


def test_track_records_a_business_event_for_the_targeting_key(
    server: FakeServer, client: Client
) -> None:
    api.set_provider_and_wait(OpenFeatureProvider(client))
    flags = api.get_client()
    flags.track(
        "csat_response",
        context("User;4"),
        TrackingEventDetails(4.0, {"flow": "new", "nested": {"no": 1}}),
    )
    flags.track("ignored", context(None))  # no actor: nothing to count
    assert client.flush()
    business = [e for e in server.events() if e["type"] == "business"]
    assert business == [
        {
            "type": "business",
            "at": business[0]["at"],
            "actor": "User;4",
            "name": "csat_response",
            "value": 4.0,
            "attributes": {"flow": "new"},
        }
    ]


def test_evaluations_through_openfeature_are_exposures(
    server: FakeServer, client: Client
) -> None:
    api.set_provider_and_wait(OpenFeatureProvider(client))
    for _ in range(3):
        api.get_client().get_boolean_value("uat", False, context("User;1"))
    assert client.flush()
    exposures = [
        (e["actor"], e["flag"], e["variant"], e["allow_listed"])
        for e in server.events()
        if e["type"] == "exposure"
    ]
    assert exposures == [("User;1", "uat", "on", True)]


def test_a_provider_without_flags_is_in_error_until_they_arrive(
    server: FakeServer,
) -> None:
    server.down = True
    client = Client(
        "http://flags.test",
        "t",
        "production",
        transport=server.transport(),
        send_events=False,
        retry_base=0.01,
        retry_max=0.05,
    )
    try:
        provider = OpenFeatureProvider(client, ready_timeout=0.1)
        ready = threading.Event()

        def note_ready(_details: EventDetails) -> None:
            ready.set()

        api.add_handler(ProviderEvent.PROVIDER_READY, note_ready)
        with pytest.raises(Exception, match="no flags yet"):
            api.set_provider_and_wait(provider)
        assert api.get_client().get_provider_status() == ProviderStatus.ERROR
        ready.clear()
        server.down = False
        assert ready.wait(5)
        wait_for(lambda: api.get_client().get_provider_status() == ProviderStatus.READY)
        assert api.get_client().get_boolean_value("kill_switch", False) is True
    finally:
        api.remove_handler(ProviderEvent.PROVIDER_READY, note_ready)
        api.clear_providers()
        client.close(timeout=1)
