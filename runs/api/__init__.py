"""The runs HTTP API: DRF views, async views (wait, join, cancel), SSE endpoints, URL routes, OpenAPI entries."""
