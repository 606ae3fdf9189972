"""Event models, populations and curves refuse what cannot be simulated."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.core.errors import InvalidScenario, SimError
from flagramp.sim import (
    BusinessKind,
    DailyCurve,
    Discrete,
    EnvironmentKind,
    EventModel,
    LogNormal,
    PageFlow,
    Population,
    RequestKind,
    Trait,
    World,
)
from flagramp.sim.categorical import choose
from tests.sim.worlds import MODEL

REQUEST = RequestKind("r", "/r")


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Discrete((1, 2), (1.0,)), "one weight per value"),
        (lambda: Discrete((2, 1), (1.0, 1.0)), "increasing"),
        (lambda: Discrete((-1, 1), (1.0, 1.0)), ">= 0"),
        (lambda: Discrete((1, 2), (0.0, 0.0)), "not all 0"),
        (lambda: LogNormal(0.0), "median > 0"),
        (lambda: RequestKind("r", "/r", failure_rate=1.5), "failure_rate"),
        (lambda: RequestKind("r", "/r", weight=0.0), "weight > 0"),
        (lambda: RequestKind("r", "/r", fingerprints=0), "at least one fingerprint"),
        (lambda: RequestKind("r", "/r", timeout_ms=-1.0), "timeout_ms"),
        (lambda: RequestKind("r", "/r", timeout_event="t"), "needs timeout_ms"),
        (lambda: RequestKind("r", "/r", when_off=REQUEST), "needs a flag"),
        (
            lambda: RequestKind(
                "r", "/r", flag="f", when_off=RequestKind("o", "/o", flag="g")
            ),
            "plain, ungated",
        ),
        (lambda: BusinessKind("b", -0.1), "probability"),
        (lambda: PageFlow("/a", 0.5, (("/a", "/b", 0.7), ("/a", "/c", 0.5))), "past 1"),
        (lambda: PageFlow("/a", 0.5, max_pages=0), "max_pages"),
        (lambda: EnvironmentKind("calls", -1.0), "per_day"),
        (lambda: EventModel(()), "at least one request kind"),
        (lambda: EventModel((REQUEST,), session_min=3, session_max=2), "sessions"),
        (
            lambda: EventModel((REQUEST,), (BusinessKind("b", 0.1, after="a"),)),
            "earlier business kind",
        ),
        (lambda: Trait("ehr", ("oracle",), (0.5, 0.5)), "one weight per value"),
        (lambda: Population(users=0), "users >= 1"),
        (lambda: Population(named=("a", "a")), "distinct"),
        (lambda: Population(failure_spread=-1.0), "spreads"),
        (lambda: DailyCurve(amplitude=1.0), "amplitude"),
        (lambda: DailyCurve(weekend=0.0), "weekend"),
        (lambda: World(MODEL, visits_per_day=-1.0), "visits_per_day"),
    ],
)
def test_invalid_declarations_are_refused_with_where_and_why(
    build: Callable[[], object], match: str
) -> None:
    with pytest.raises(InvalidScenario, match=match) as caught:
        build()
    assert isinstance(caught.value, SimError)
    assert isinstance(caught.value, ValueError)
    assert caught.value.where and caught.value.detail


def test_fingerprint_names_are_generated_or_given() -> None:
    assert RequestKind("api_request", "/a", fingerprints=2).fingerprint_names() == (
        "ApiRequestError00 /a",
        "ApiRequestError01 /a",
    )
    given = RequestKind("r", "/r", fingerprints=("Oracle::Timeout /r",))
    assert given.fingerprint_names() == ("Oracle::Timeout /r",)
    assert RequestKind("r", "/r").timeout_fingerprint == "TimeoutError /r"


def test_page_flow_routes_list_the_entry_first() -> None:
    flow = PageFlow(
        "/recent", 0.3, (("/recent", "/start", 0.5), ("/select", "/start", 1.0))
    )
    assert flow.routes() == ("/recent", "/start", "/select")


@settings(max_examples=50, deadline=None)
@given(
    weights=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=40).filter(
        lambda w: sum(w) > 0
    ),
    seed=st.integers(0, 1000),
)
def test_choose_is_searchsorted_for_any_number_of_categories(
    weights: list[float], seed: int
) -> None:
    cum = np.cumsum(weights) / np.sum(weights)
    u = np.random.default_rng(seed).random(500)
    expected = np.minimum(np.searchsorted(cum, u, side="right"), len(weights) - 1)
    assert np.array_equal(choose(cum, u), expected)
