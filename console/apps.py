from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ConsoleConfig(AppConfig):
    """The operator's console: the admin's dashboard and the pages that span apps (a thread with its runs)."""

    name = "console"
    verbose_name = "Console"


class ConsoleAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin, with the console's site as the default `admin.site` (Django's documented way)."""

    default = False  # "console" alone means ConsoleConfig
    default_site = "console.sites.ConsoleAdminSite"
