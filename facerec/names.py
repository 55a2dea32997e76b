"""People's names: what facerec accepts, and the word it keeps for a stranger."""

from __future__ import annotations

from .errors import InvalidName

UNKNOWN = "unknown"
"""What identification answers for a face of nobody enrolled; no person may be called so."""

MAX_NAME = 200


def validate_name(name: str) -> str:
    """A person's name, stripped of surrounding spaces.

    Raises:
        InvalidName: not 1 to 200 printable characters, a slash or backslash in it, or
            the reserved word ``unknown`` (in any case).
    """
    cleaned = name.strip()
    if (not cleaned or len(cleaned) > MAX_NAME or not cleaned.isprintable()
            or "/" in cleaned or "\\" in cleaned):
        raise InvalidName(f"invalid person name {name!r}: it must be 1 to {MAX_NAME} "
                          "printable characters, without / or \\")
    if cleaned.casefold() == UNKNOWN:
        raise InvalidName(f"{cleaned!r} is reserved: identify answers {UNKNOWN!r} for a face "
                          "of nobody enrolled; choose another name")
    return cleaned
