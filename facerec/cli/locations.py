"""What a ``--db`` value names: a database folder, or a PostgreSQL database."""

from __future__ import annotations

import argparse
from pathlib import Path

from facerec.errors import FacerecError


def database_location(text: str) -> Path | str:
    """A ``--db`` value: a PostgreSQL address (checked), else a folder."""
    from facerec.storage.postgres import checked_address, is_postgres

    if not is_postgres(text):
        return Path(text)
    try:
        return checked_address(text)
    except FacerecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
