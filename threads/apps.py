from django.apps import AppConfig


class ThreadsConfig(AppConfig):
    name = "threads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from assistants.services import assistant_delete_hook_register
        from threads.services import threads_delete_for_assistant

        assistant_delete_hook_register(threads_delete_for_assistant)
