"""What an operator watches the service by: the log context and JSON logs (logs, context), the Prometheus metrics
the processes record themselves (metrics), OpenTelemetry traces (tracing) and the probes of the worker and beat
(probe). docs/telemetry.md describes them. No app is imported here: the figures read from the runs table are
collected by runs.metrics, which registers with agentplatform.telemetry.metrics."""
