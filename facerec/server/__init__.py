"""facerec over HTTP: ``facerec serve`` runs ``create_app`` on uvicorn.

May import: clustering, enrollment, faces, formats, levers, library, photos,
recognition, storage.
"""

from facerec.server.app import create_app
from facerec.server.config import ServerConfig, is_loopback
from facerec.server.run import serve
from facerec.server.service import RecognitionService

__all__ = ["RecognitionService", "ServerConfig", "create_app", "is_loopback", "serve"]
