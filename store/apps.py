from django.apps import AppConfig


class StoreConfig(AppConfig):
    name = "store"
    verbose_name = "Store (long-term memory)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from store import checks  # noqa: F401 - registers the pgvector check
