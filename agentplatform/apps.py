from django.apps import AppConfig


class AgentPlatformConfig(AppConfig):
    name = "agentplatform"
    verbose_name = "agentplatform"

    def ready(self) -> None:
        from agentplatform import checks  # noqa: F401 - registers system checks
