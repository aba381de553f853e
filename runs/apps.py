from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from assistants.services import assistant_delete_hook_register
        from runs.services import runs_cancel_for_assistant

        # Deleting an assistant interrupts its in-flight runs, as on the official server.
        assistant_delete_hook_register(runs_cancel_for_assistant)
