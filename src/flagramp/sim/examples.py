"""Worlds for the example plans (`examples/*.yaml`), declared as data.

Each world emits every event its plan's metrics count, under the plan's names,
at the plan's stated traffic, with rates chosen well inside the plan's limits
(a healthy rollout passes; the demo injects the regression). A test checks that
every metric of each example plan has events here, so a renamed event shows.
"""

from __future__ import annotations

from flagramp.core.events import DeviceClass
from flagramp.sim.model import (
    BusinessKind,
    Discrete,
    EnvironmentKind,
    EventModel,
    PageFlow,
    RequestKind,
)
from flagramp.sim.population import Population, Trait
from flagramp.sim.world import World, visits_for_requests

#: Seed 000's four toggles, in rollout order, with the part each moves to VAOS.
VAOS_FLAGS = (
    ("va_online_scheduling_facilities_service_v2", "/facilities"),
    ("va_online_scheduling_vaos_service_requests", "/requests"),
    ("va_online_scheduling_vaos_service_cc_appointments", "/cc-appointments"),
    ("va_online_scheduling_vaos_service_va_appointments", "/va-appointments"),
)
SM_FLAGS = (
    "mhv_secure_messaging_curated_list_flow",
    "mhv_secure_messaging_recent_recipients",
)
SM_TESTERS = ("bah-veteran-1@va.gov", "bah-veteran-2@va.gov")
UAE_FLAG = "va_online_scheduling_uae_oracle_health"
_EHR = Trait("ehr", ("oracle", "dual", "vista"), (0.25, 0.05, 0.7))
_CSAT = Discrete((1, 2, 3, 4, 5), (0.06, 0.06, 0.14, 0.3, 0.44))


def vaos_world(users: int = 200_000, requests_per_minute: float = 400.0) -> World:
    """Seed 000: each toggle sends one part of scheduling to the VAOS service.

    The new service is called only while its toggle is on (so its error rate is
    an absolute metric); the old path (VAR) serves the part otherwise. About
    48,000 unique users a day at the defaults.
    """
    kinds = [
        RequestKind(
            "vaos_service_request",
            f"/vaos{route}",
            failure_rate=0.01,
            latency_median_ms=250.0,
            fingerprints=12,
            flag=flag,
            when_off=RequestKind(
                "legacy_scheduling_request",
                f"/var{route}",
                failure_rate=0.01,
                latency_median_ms=350.0,
            ),
        )
        for flag, route in VAOS_FLAGS
    ]
    model = EventModel(
        requests=(*kinds, RequestKind("appointments_page", "/appointments", 2.0)),
        business=(
            BusinessKind("scheduling_started", 0.35),
            BusinessKind("scheduling_abandoned", 0.12, after="scheduling_started"),
        ),
        environment=(EnvironmentKind("contact_center_call", 0.3),),
        session_min=1,
        session_max=14,
    )
    return World(
        model,
        Population(users=users, traits=(_EHR,), failure_spread=0.3),
        visits_per_day=visits_for_requests(requests_per_minute, model),
    )


def _sm_model() -> EventModel:
    new_flow, recent = SM_FLAGS
    select, start = "/new-message/select-care-team", "/new-message/start-message"

    def click(target: str, route: str, p: float) -> BusinessKind:
        return BusinessKind(
            "rum_click", p, route=route, attributes=(("target", target),)
        )

    return EventModel(
        requests=(
            RequestKind("sm_request", "/messages", 6.0, failure_rate=0.004),
            RequestKind("draft_create_request", "/messages/drafts", 0.6),
            RequestKind("draft_update_request", "/messages/drafts/:id", 0.8),
            RequestKind("draft_delete_request", "/messages/drafts/:id", 0.1),
            # The new flow sends from /select-care-team (slower: seed 001's UAT
            # saw 4-23 s); the base flow from the old page.
            RequestKind(
                "message_send_request",
                "/select-care-team",
                0.5,
                latency_median_ms=1800.0,
                latency_sigma=0.7,
                flag=new_flow,
                when_off=RequestKind(
                    "message_send_request", "/messages/send", latency_median_ms=600.0
                ),
            ),
        ),
        business=(
            BusinessKind("message_sent", 0.25, attributes=(("platform", "va.gov"),)),
            BusinessKind("message_sent", 0.05, attributes=(("platform", "vahb"),)),
            BusinessKind("csat_response", 0.04, value=_CSAT, route="/messages"),
            click("care_system_radio", select, 0.2),
            click("update_contact_list", select, 0.03),
            click("cant_find_care_team", select, 0.04),
            click("select_different_care_team", start, 0.05),
        ),
        pages=(
            PageFlow(
                "/new-message/recent",
                0.35,
                (
                    ("/new-message/recent", start, 0.62),
                    ("/new-message/recent", select, 0.33),
                    (select, start, 0.85),
                ),
                flag=recent,
            ),
            PageFlow(select, 0.35, ((select, start, 0.8),), flag=recent, flag_on=False),
        ),
        session_min=2,
        session_max=12,
    )


def secure_messaging_world(
    users: int = 120_000, requests_per_minute: float = 250.0
) -> World:
    """Seeds 001/002: the new start-a-new-message flow, two toggles with shared
    users, two allow-listed UAT testers (Oracle patients who visit often)."""
    model = _sm_model()
    return World(
        model,
        Population(
            users=users,
            traits=(_EHR,),
            devices=((DeviceClass.DESKTOP, 0.55), (DeviceClass.MOBILE, 0.45)),
            named=SM_TESTERS,
            named_properties=(("ehr", "oracle"),),
            named_visits_per_day=6.0,
            failure_spread=0.3,
            latency_spread=0.4,
        ),
        visits_per_day=visits_for_requests(requests_per_minute, model),
    )


def uae_world(users: int = 60_000, requests_per_minute: float = 200.0) -> World:
    """Seed 003: appointments for Oracle patients go to Oracle Health when the
    flag is on (eligibility: ehr oracle or dual); Vista patients see no change."""
    model = EventModel(
        requests=(
            RequestKind("api_request", "/appointments", 4.0, failure_rate=0.005),
            RequestKind(
                "appointment_fetch", "/appointments/:id", 2.0, failure_rate=0.004
            ),
            RequestKind(
                "oracle_api_request",
                "/oracle/appointments",
                1.5,
                latency_median_ms=900.0,
                latency_sigma=0.45,
                failure_rate=0.003,
                timeout_ms=30_000.0,
                timeout_event="oracle_api_timeout",
                flag=UAE_FLAG,
                when_off=RequestKind(
                    "vista_api_request", "/vista/appointments", latency_median_ms=400.0
                ),
            ),
        ),
        business=(
            BusinessKind("appointment_booking_attempt", 0.12),
            BusinessKind(
                "appointment_booked", 0.96, after="appointment_booking_attempt"
            ),
            BusinessKind("appointment_cancellation_attempt", 0.05),
            BusinessKind(
                "appointment_cancelled", 0.97, after="appointment_cancellation_attempt"
            ),
        ),
        session_min=1,
        session_max=10,
    )
    return World(
        model,
        Population(users=users, traits=(_EHR,), failure_spread=0.3),
        visits_per_day=visits_for_requests(requests_per_minute, model),
    )
