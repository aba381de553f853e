"""The run engine: claim and lease, the worker and its loop, the executor, the sweeper, webhooks, the doorbell."""
