"""`inspect_flipper` on every backend: it reads, and writes nothing."""

from __future__ import annotations

from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.store import Author
from flagramp.store.flipper.inspection import inspect_flipper
from tests.store.flipper.conftest import FlipperSetup
from tests.store.flipper.tables import gate_rows

ALICE = Author("alice@va.gov")


def test_inspection_of_tables_flagramp_wrote(flipper_setup: FlipperSetup) -> None:
    flipper_setup.tables("text")
    store = flipper_setup.open()
    store.put_segment(Segment.from_rules("oracle", ["ehr == oracle"]), ALICE)
    store.create_flag(
        Flag("uae", eligibility="oracle", percentage_of_actors=Percentage.parse("5")),
        ALICE,
    )
    store.create_flag(Flag("beta", groups=("oracle",)), ALICE)
    rows = gate_rows(flipper_setup.flipper_url)
    found = inspect_flipper(
        "flipper+" + flipper_setup.flipper_url,
        current=store.list_flags(),
        segments=store.segments(),
    )
    assert gate_rows(flipper_setup.flipper_url) == rows
    by_key = {f.key: f for f in found.features}
    assert by_key["uae"].rollout == (
        "a staged rollout by an expression's percentage of actors"
    )
    assert by_key["uae"].gates[0].startswith('expression {"All":')
    assert by_key["uae"].gates[1] == "0 % of actors"
    assert by_key["beta"].gates == ("groups 'oracle'",)
    # flagramp's flags are what the rows say (the eligibility flag too): adopting
    # would replace nothing, and the group has its segment.
    assert not any("differ from Flipper's rows" in s for s in found.adoption)
    assert not any("Ruby block" in s for s in found.adoption)
    assert found.value_type == "text"
    assert found.flipper_versions == "Flipper ≥ 1.0 (text value)"
