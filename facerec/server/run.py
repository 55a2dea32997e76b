"""Starting the service: open the database, warm the networks up, run uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from facerec.faces.analyzer import FaceAnalyzer
from facerec.levers.allocator import map_large_blocks_apart
from facerec.recognition.recognizer import Recognizer
from facerec.server.app import create_app
from facerec.server.config import ServerConfig
from facerec.server.guards import guarded_protocol
from facerec.server.service import RecognitionService

log = logging.getLogger(__name__)


def serve(config: ServerConfig, analyzer: FaceAnalyzer | None = None,
          access_log: bool = True) -> None:
    """Serve ``config.db`` until interrupted (Ctrl-C or SIGTERM stop it cleanly).

    Raises:
        FacerecError: unsafe settings (see ``ServerConfig.check``), or the database or
            the models cannot be opened.
    """
    config.check()
    map_large_blocks_apart()
    service = RecognitionService(Recognizer.open(config.db, analyzer, create=True), config)
    service.warm_up()
    app = create_app(service)
    key = "required (X-API-Key header)" if config.api_key else "not required (loopback only)"
    log.info("serving %s on http://%s:%d with %s on %s; API key %s; docs at /docs",
             config.db, config.host, config.port, service.analyzer.model_id,
             service.analyzer.device, key)
    uvicorn.run(app, host=config.host, port=config.port, access_log=access_log,
                server_header=False, log_level="info",
                http=guarded_protocol(config.header_timeout, config.max_connections),
                limit_concurrency=config.max_connections,
                timeout_keep_alive=max(1, round(config.keep_alive)))
