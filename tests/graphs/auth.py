"""A custom auth file as the official tutorials write one (token table -> identity; one @auth.on handler that
stamps the owner and filters by it), for tests that drive the server as two different users."""

from langgraph_sdk import Auth

# A toy user database: bearer token -> user. Real deployments verify a JWT or ask their identity provider.
VALID_TOKENS = {
    "user1-token": {"id": "user1", "name": "Alice"},
    "user2-token": {"id": "user2", "name": "Bob"},
}

auth = Auth()


@auth.authenticate
async def get_current_user(authorization: str | None) -> Auth.types.MinimalUserDict:
    """Check the bearer token and say who is calling."""
    assert authorization
    scheme, token = authorization.split()
    assert scheme.lower() == "bearer"
    if token not in VALID_TOKENS:
        raise Auth.exceptions.HTTPException(status_code=401, detail="Invalid token")
    user_data = VALID_TOKENS[token]
    return {"identity": user_data["id"]}


@auth.on
async def add_owner(ctx: Auth.types.AuthContext, value: dict):
    """Make every resource private to its creator: stamp the owner on writes, filter reads by it."""
    filters = {"owner": ctx.user.identity}
    metadata = value.setdefault("metadata", {})
    metadata.update(filters)
    return filters
