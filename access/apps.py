from django.apps import AppConfig


def _load_custom_auth(**_: object) -> None:
    """A broken auth.path stops start-up; actions no auth handler covers are logged here, once."""
    from access.custom_auth import get_custom_auth

    get_custom_auth()


class AccessConfig(AppConfig):
    name = "access"
    label = "access"  # not "auth": that label is django.contrib.auth's
    verbose_name = "Access (API keys and custom auth)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from access import checks  # noqa: F401 - registers the auth.path check
        from access.gate import request_user, request_user_sync
        from agentplatform.identity import authenticator_register
        from agentplatform.startup import process_starting

        process_starting.connect(_load_custom_auth, dispatch_uid="access.load_custom_auth")
        # Every API request and websocket handshake is authenticated here (agentplatform.identity).
        authenticator_register(authenticate=request_user, authenticate_sync=request_user_sync)
