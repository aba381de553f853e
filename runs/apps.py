from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from agentplatform.system import metrics_section_register
        from assistants.services import assistant_delete_hook_register
        from runs.selectors import run_queue_stats
        from runs.services import runs_cancel_for_assistant

        # Deleting an assistant interrupts its in-flight runs, as on the official server.
        assistant_delete_hook_register(runs_cancel_for_assistant)
        metrics_section_register(run_queue_stats)
