from django.apps import AppConfig


def _load_webhook_policy(**_: object) -> None:
    """A bad `webhooks` section (e.g. a header template naming an unset variable) stops start-up, as officially,
    instead of failing each run that asks for a webhook."""
    from runs.engine.webhooks import webhook_policy

    webhook_policy()


class RunsConfig(AppConfig):
    name = "runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from agentplatform.startup import process_starting
        from agentplatform.system import metrics_section_register
        from agentplatform.telemetry.metrics import scrape_collector_register
        from assistants.services import assistant_delete_hook_register
        from runs import checks  # noqa: F401 - registers the webhooks check
        from runs.metrics import RunsCollector
        from runs.selectors import run_queue_stats
        from runs.services import runs_cancel_for_assistant

        # Deleting an assistant interrupts its in-flight runs, as on the official server.
        assistant_delete_hook_register(runs_cancel_for_assistant)
        process_starting.connect(_load_webhook_policy, dispatch_uid="runs.load_webhook_policy")
        metrics_section_register(run_queue_stats)
        scrape_collector_register(RunsCollector())
