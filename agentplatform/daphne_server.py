"""How the API process serves HTTP under Daphne: tuned for a JSON API."""

from __future__ import annotations


def tune_daphne() -> None:
    """Requests skip Twisted's form parsing: every POST with a body had its Content-Type parsed with the `email`
    package, in case it was a form upload (up to a sixth of the API's CPU per run create), and the API only
    reads the raw body, as JSON. Does nothing when another ASGI server imports the application."""
    try:
        from daphne import http_protocol
    except ImportError:
        return
    if getattr(http_protocol.WebRequest, "parses_forms", True) is False:
        return

    class JsonApiRequest(http_protocol.WebRequest):
        parses_forms = False

        def __init__(self, *args, **kwargs) -> None:
            kwargs.setdefault("parsePOSTFormSubmission", False)
            super().__init__(*args, **kwargs)

    # Daphne's protocol factory looks the request class up in its module each time a connection opens.
    http_protocol.WebRequest = JsonApiRequest
