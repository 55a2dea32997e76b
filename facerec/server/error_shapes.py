"""The JSON body of an error, in the shape the route's clients read.

facerec's own routes answer ``{"error": {"status": N, "message": "..."}}``. The DeepStack
face API (``/v1/vision/...``, see ``deepstack.py``) answers as DeepStack does,
``{"success": false, "error": "...", "code": N, "duration": 0}``, wherever the error
is raised: in a route, or by a check that refuses the request before any route runs.
"""

from __future__ import annotations

DEEPSTACK_PREFIX = "/v1/vision/"


def error_body(path: str, status: int, message: str) -> dict[str, object]:
    """The body of an error with HTTP ``status`` for a request to ``path``."""
    if path.startswith(DEEPSTACK_PREFIX):
        return {"success": False, "error": message, "code": status, "duration": 0}
    return {"error": {"status": status, "message": message}}
