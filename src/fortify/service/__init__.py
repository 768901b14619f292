"""HTTP API (FastAPI). ``create_app(settings)`` builds an app; nothing is global."""

from fortify.service.app import create_app

__all__ = ["create_app"]
