"""The base every plan model shares: frozen, strict about unknown fields."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class PlanModel(BaseModel):
    """A frozen plan part; unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        allow_inf_nan=False,
        str_strip_whitespace=True,
        use_attribute_docstrings=True,
    )


#: A name other parts of the plan refer to: `product_owner`, `error_rate`.
Name = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_.\-]*$", max_length=120),
]

#: Free text a person wrote (titles, questions, checklist items).
Text = Annotated[str, StringConstraints(min_length=1, max_length=2_000)]

#: A web address.
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2_000)]

#: The largest count a plan may write (users, requests, events): a trillion.
#: Rationale: real plans count thousands; a bound keeps arithmetic on counts
#: (timelines from traffic) inside what dates and floats can hold.
MAX_COUNT = 10**12

#: A count of users, requests or events.
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]

#: What a draft plan (`plan import-markdown`) writes for a value left to decide;
#: the loader reports each as left to decide, and the linter as a placeholder.
TBD = "TBD"
