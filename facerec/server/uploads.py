"""Reading an uploaded file of a multipart request into the service's ``Upload``."""

from __future__ import annotations

from starlette.datastructures import UploadFile

from facerec.server.service import Upload

MAX_LABEL = 200
"""Most characters of an upload's file name kept as its label in messages."""


async def read_upload(upload: UploadFile, fallback: str = "upload") -> Upload:
    """The upload's bytes, labelled by its file name (printable characters only, at most
    ``MAX_LABEL``), or ``fallback`` when it has none."""
    label = "".join(c for c in (upload.filename or fallback) if c.isprintable())[:MAX_LABEL]
    return Upload(label or fallback, await upload.read())
