from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    """The agent protocols served beside the LangGraph API: MCP (/mcp) and A2A (/a2a/{assistant_id})."""

    name = "protocols"
    verbose_name = "Agent protocols (MCP, A2A)"
