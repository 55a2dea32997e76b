"""Text facerec writes for other programs, made safe for them to read.

* ``shown``: a file name or a person's name as a terminal may print it. Control and
  format characters (a newline, an escape sequence, a right-to-left override) and the
  bytes of a name that is not valid UTF-8 are written as Python escapes (``\\n``,
  ``\\x1b``, ``\\u202e``, ``\\xff``), so a name can neither forge lines of output nor
  steer the terminal, and printing it never fails.
* ``spreadsheet_safe`` and ``csv_writer``: CSV cells that a spreadsheet would run as a
  formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) get a
  leading apostrophe, as OWASP recommends against CSV injection; numbers stay numbers.
  Control characters and bytes that are not UTF-8 are escaped as ``shown`` does, so a
  CSV printed to a terminal cannot steer it either.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Iterable
from pathlib import PurePath
from typing import IO, Any

_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def shown(text: object) -> str:
    """``text`` (a str, or a path) with every character a terminal would act on, and
    every undecodable byte, written as an escape; other text is unchanged."""
    value = str(text) if isinstance(text, PurePath) else text if isinstance(text, str) \
        else str(text)
    if value.isprintable():
        return value
    return "".join(_escape(c) for c in value)


def _escape(char: str) -> str:
    if char == " " or unicodedata.category(char) not in _ESCAPED_CATEGORIES:
        return char
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:           # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return char.encode("unicode_escape").decode("ascii")


def spreadsheet_safe(cell: Any) -> Any:
    """``cell`` as a CSV cell no spreadsheet runs as a formula (see the module doc)."""
    if isinstance(cell, PurePath):
        cell = str(cell)
    if not isinstance(cell, str):
        return cell
    cell = shown(cell)
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


class SafeCsvWriter:
    """``csv.writer`` whose every cell passes ``spreadsheet_safe``."""

    def __init__(self, stream: IO[str]) -> None:
        self._writer = csv.writer(stream)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([spreadsheet_safe(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(stream: IO[str]) -> SafeCsvWriter:
    """A CSV writer over ``stream`` that neutralises formulas; use it for every CSV
    facerec writes."""
    return SafeCsvWriter(stream)
