"""API tokens (admins), and the caller's own token."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from flagramp.core.identifiers import TEXT_MAX
from flagramp.core.plans import Duration
from flagramp.server.identity import Identity, SdkScope, allow
from flagramp.server.problems import responses
from flagramp.server.routes.common import AUTH_PROBLEMS, State, api_router
from flagramp.store.tokens import OwnerKind, Permission, TokenRecord

router = api_router("tokens")

ADMIN = allow(Permission.ADMIN)


class TokenView(BaseModel):
    """A token's record; never its secret."""

    id: str
    owner: str
    owner_kind: OwnerKind
    permission: Permission
    environment: str | None
    description: str
    created_at: str
    created_by: str
    revoked_at: str | None
    revoked_by: str | None
    expires_at: str | None = Field(description="When it stops working; null: never")


class IssuedTokenView(TokenView):
    token: str = Field(description="The token; shown in this answer only")


class TokenList(BaseModel):
    tokens: list[TokenView]


class TokenRequest(BaseModel):
    owner: str = Field(description="An e-mail address (person) or a service name")
    owner_kind: OwnerKind
    permission: Permission
    environment: str | None = Field(None, description="Required for SDK tokens")
    description: str = Field("", max_length=TEXT_MAX)
    expires_in: Duration | None = Field(
        None, description="It stops working this long after issue; null: never"
    )
    why: str = Field("", max_length=TEXT_MAX)


def _view(record: TokenRecord) -> TokenView:
    return TokenView(**record.to_json())


@router.get("/tokens", response_model=TokenList, responses=responses(*AUTH_PROBLEMS))
def list_tokens(state: State, who: Annotated[Identity, ADMIN]) -> TokenList:
    """Every token, revoked ones too."""
    return TokenList(tokens=[_view(r) for r in state.tokens.list()])


@router.post(
    "/tokens",
    status_code=201,
    response_model=IssuedTokenView,
    responses=responses(*AUTH_PROBLEMS, 422),
)
def issue_token(
    body: TokenRequest, state: State, who: Annotated[Identity, ADMIN]
) -> IssuedTokenView:
    """Issue a token; its text is in this answer and nowhere else, ever."""
    expires_at = (
        None if body.expires_in is None else state.tokens.now() + body.expires_in.delta
    )
    issued = state.tokens.issue(
        owner=body.owner,
        owner_kind=body.owner_kind,
        permission=body.permission,
        environment=body.environment,
        description=body.description,
        expires_at=expires_at,
        author=who.author(body.why),
    )
    return IssuedTokenView(**_view(issued.record).model_dump(), token=issued.token)


@router.get("/tokens/me", response_model=TokenView, responses=responses(*AUTH_PROBLEMS))
def my_token(
    who: Annotated[Identity, allow(Permission.VIEWER, sdk=SdkScope.FLAGS_READ)],
) -> TokenView:
    """The caller's own token (an SDK can check what it was given)."""
    return _view(who.token)


@router.delete(
    "/tokens/{token_id}",
    response_model=TokenView,
    responses=responses(*AUTH_PROBLEMS, 404),
)
def revoke_token(
    token_id: str, state: State, who: Annotated[Identity, ADMIN], why: str = ""
) -> TokenView:
    """Revoke a token: every replica refuses it from the next request on."""
    return _view(state.tokens.revoke(token_id, who.author(why)))
