from django.apps import AppConfig


class AgentPlatformConfig(AppConfig):
    name = "agentplatform"
    verbose_name = "agentplatform"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from agentplatform import checks  # noqa: F401 - registers system checks
        from agentplatform.persistence import database_pool_recovers

        connection_created.connect(database_pool_recovers, dispatch_uid="agentplatform.database_pool_recovers")
