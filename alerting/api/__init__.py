"""The HTTP API and the web page: ``app`` builds the application, ``deps`` holds what every
route depends on, and one module per group of routes (alerts, silences, config)."""

from alerting.api.app import MAX_BODY_BYTES, create_app
from alerting.api.deps import Services, StreamSlots

__all__ = ["MAX_BODY_BYTES", "Services", "StreamSlots", "create_app"]
