from django.apps import AppConfig


def _ensure_system_assistants(**_: object) -> None:
    """Workers may start before any API process: each creates the system assistants runs refer to by graph name."""
    from agentplatform.graphs import get_registry
    from assistants.services import assistants_ensure_system

    assistants_ensure_system(graph_ids=get_registry().graph_ids())


class AssistantsConfig(AppConfig):
    name = "assistants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from agentplatform.startup import process_starting

        # One system assistant per graph (deterministic ids), as the official server registers them at start.
        process_starting.connect(_ensure_system_assistants, dispatch_uid="assistants.ensure_system")
