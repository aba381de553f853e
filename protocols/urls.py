from django.urls import path

from protocols import views

# `mcp/` answers as `mcp` (officially a redirect to it), and is the path the official OpenAPI document lists.
urlpatterns = [
    path("mcp", views.mcp_endpoint),
    path("mcp/", views.mcp_endpoint),
    path(".well-known/agent-card.json", views.root_agent_card),
    path("a2a/<str:assistant_id>", views.a2a_endpoint),
    path("a2a/<str:assistant_id>/", views.a2a_endpoint),
    path("a2a/<str:assistant_id>/.well-known/agent-card.json", views.agent_card),
    path("a2a/<str:assistant_id>/.well-known/agent.json", views.agent_card),
]
