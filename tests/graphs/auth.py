"""A custom auth file as the official tutorials write one (token table -> identity; one @auth.on handler that
stamps the owner and filters by it), for tests that drive the server as several users, plus a few more specific
handlers that exercise the official precedence, shared resources, refusals and the store's namespaces."""

from langgraph_sdk import Auth

# A toy user database: bearer token -> user. Real deployments verify a JWT or ask their identity provider.
VALID_TOKENS = {
    "user1-token": {"id": "user1", "name": "Alice", "permissions": ["write"]},
    "user2-token": {"id": "user2", "name": "Bob", "permissions": ["write"]},
    "reader-token": {"id": "reader", "name": "Rita", "permissions": []},
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
    return {"identity": user_data["id"], "display_name": user_data["name"], "permissions": user_data["permissions"]}


@auth.on
async def add_owner(ctx: Auth.types.AuthContext, value: dict):
    """Make every resource private to its creator: stamp the owner on writes, filter reads by it."""
    filters = {"owner": ctx.user.identity}
    metadata = value.setdefault("metadata", {})
    metadata.update(filters)
    return filters


@auth.on.threads.create
async def create_thread(ctx: Auth.types.AuthContext, value: Auth.types.on.threads.create.value):
    """More specific than @auth.on, so it alone answers thread creation: only writers may create threads. A
    thread created with metadata `explode` makes this handler fail, which must refuse, not allow."""
    if "write" not in ctx.permissions:
        return False
    if (value.get("metadata") or {}).get("explode"):
        raise RuntimeError("a bug in the auth handler")
    return await add_owner(ctx, value)


@auth.on.assistants.read
@auth.on.assistants.search
async def read_assistants(ctx: Auth.types.AuthContext, value: dict):
    """Assistants are readable by their owner and by the users named in their `shared_with` list."""
    return {"$or": [{"owner": ctx.user.identity}, {"shared_with": {"$contains": ctx.user.identity}}]}


@auth.on.store
async def own_namespace(ctx: Auth.types.AuthContext, value: dict):
    """Each user's store items live under their identity: the same namespace names different items per user."""
    value["namespace"] = (ctx.user.identity, *(value.get("namespace") or ()))
