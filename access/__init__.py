"""Who may call the API and what they may touch: custom auth from langgraph.json (`auth.path`, the official
`langgraph_sdk.Auth` handlers) and built-in API keys. Sits below every other app; imports none of them."""
