"""The HTTP API: ``create_app(settings)``, token authentication, roles, one error envelope."""

from standoff.api.app import ApiSettings, create_app

__all__ = ["ApiSettings", "create_app"]
