"""facerec over HTTP: ``facerec serve`` runs ``create_app`` on uvicorn."""

from .app import create_app
from .config import ServerConfig, is_loopback
from .run import serve
from .service import RecognitionService

__all__ = ["RecognitionService", "ServerConfig", "create_app", "is_loopback", "serve"]
