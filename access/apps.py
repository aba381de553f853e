from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    label = "access"  # not "auth": that label is django.contrib.auth's
    verbose_name = "Access (API keys and custom auth)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from access import checks  # noqa: F401 - registers the auth.path check
