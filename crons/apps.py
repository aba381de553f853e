from django.apps import AppConfig


class CronsConfig(AppConfig):
    name = "crons"
    verbose_name = "Crons (scheduled runs)"
    default_auto_field = "django.db.models.BigAutoField"
