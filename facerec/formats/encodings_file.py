"""Reading face encodings stored by ``face_recognition`` users, in formats that cannot run code.

``face_recognition.face_encodings`` returns 128-value dlib descriptors; people keep them
with a name each. Accepted here:

- ``.npz``: arrays ``encodings`` (N, 128) and ``names`` (N,) of strings
  (``np.savez(path, encodings=..., names=...)``), read without pickle;
- ``.npy``: an (N, 128) array, with the names in a text file of N lines (``names``);

(the shapes and sizes in an array's header are checked before its data is read, see
``safe_arrays``);
- ``.csv``: one face per row, the name then 128 numbers (a header row is allowed);
- ``.json``: ``[{"name": ..., "encoding": [128 numbers]}, ...]`` or
  ``{"names": [...], "encodings": [[...], ...]}``.

A pickle is refused: unpickling a file can run any code in it. The refusal shows the two
lines that turn a trusted pickle into an ``.npz`` in the user's own Python.
A row that is not a usable encoding (wrong length, not finite, all zero, a bad name) is
skipped with its reason; the others are kept.
"""

from __future__ import annotations

import csv
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facerec.errors import EncodingsError, InvalidName
from facerec.formats.safe_arrays import load_npy, load_npz_member
from facerec.names import MAX_NAME, validate_name
from facerec.results import Skip

DESCRIPTOR_SIZE = 128
MAX_TEXT_BYTES = 1 << 30
"""Largest .csv, .json or names file read (1 GiB, some 700,000 encodings as CSV)."""
_PICKLE_SUFFIXES = {".pickle", ".pkl", ".pck", ".p"}
_CONVERT = ("import pickle, numpy as np\n"
            "data = pickle.load(open('{path}', 'rb'))  # runs code: only a file you trust\n"
            "np.savez('encodings.npz', encodings=np.array(data['encodings']), "
            "names=np.array(data['names']))")


@dataclass
class Encodings:
    """Encodings read from a file.

    Attributes:
        names: the person of each kept encoding.
        vectors: (N, 128) float32 descriptors as stored (not normalised).
        rows: the 1-based row (or item) number of each kept encoding in the file.
        skipped: rows that were not kept, each with its reason.
    """

    names: list[str] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, DESCRIPTOR_SIZE),
                                                                 np.float32))
    rows: list[int] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


def read_encodings(path: Path, names_file: Path | None = None) -> Encodings:
    """The named encodings of ``path`` (format by suffix, see the module docstring).

    Raises:
        EncodingsError: the file is a pickle, unreadable, of an unknown format, or its
            names and encodings do not pair up.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".json") and path.is_file():
        _refuse_large_text(path)
    if suffix in _PICKLE_SUFFIXES or _looks_pickled(path):
        raise EncodingsError(
            f"{path} is a pickle, and unpickling a file can run any code in it, so facerec "
            "does not open it. If you trust the file, convert it in your own Python:\n"
            + _CONVERT.format(path=path))
    try:
        if suffix == ".npz":
            names, vectors = _read_npz(path)
        elif suffix == ".npy":
            names, vectors = _read_npy(path, names_file)
        elif suffix == ".csv":
            names, vectors = _read_csv(path)
        elif suffix == ".json":
            names, vectors = _read_json(path)
        else:
            raise EncodingsError(f"{path}: unknown format {suffix!r}; use .npz, .npy (with "
                                 "--names), .csv or .json")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise EncodingsError(f"{path}: not readable as {suffix} encodings ({exc})") from None
    if len(names) != len(vectors):
        raise EncodingsError(f"{path}: {len(names)} names for {len(vectors)} encodings")
    return _checked(path, names, vectors)


def _looks_pickled(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(2) in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
    except OSError:
        return False


def _read_npz(path: Path) -> tuple[list[object], list[object]]:
    with zipfile.ZipFile(path) as archive:
        vectors = load_npz_member(archive, "encodings", _encodings_shape, True, str(path))
        # one name per encoding, each at most MAX_NAME characters of 4 bytes, and a header
        names = load_npz_member(archive, "names", _names_shape, False, str(path),
                                max_bytes=len(vectors) * 4 * MAX_NAME + 4096)
    return list(names), list(vectors)


def _read_npy(path: Path, names_file: Path | None) -> tuple[list[object], list[object]]:
    if names_file is None:
        raise EncodingsError(f"{path}: an .npy file holds no names; give them with --names "
                             "FILE (one name per line, in the order of the rows)")
    vectors = load_npy(path, _encodings_shape)
    _refuse_large_text(Path(names_file))
    names = [line.strip() for line in Path(names_file).read_text().splitlines()
             if line.strip()]
    return list(names), list(vectors)


def _refuse_large_text(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_TEXT_BYTES:
        raise EncodingsError(f"{path}: {size:,} bytes is more than {MAX_TEXT_BYTES:,}; "
                             "split the file")


def _encodings_shape(shape: tuple[int, ...], dtype: np.dtype) -> str | None:
    if dtype.kind not in "fiu":
        return f"encodings must be numbers, not {dtype}"
    if len(shape) != 2 or shape[1] != DESCRIPTOR_SIZE:
        return (f"encodings must be an (N, {DESCRIPTOR_SIZE}) array, one row per face; "
                f"this one is {shape}")
    return None


def _names_shape(shape: tuple[int, ...], dtype: np.dtype) -> str | None:
    if dtype.kind not in "US":
        return f"names must be strings, not {dtype}"
    if len(shape) != 1:
        return f"names must be an (N,) array, one per encoding; this one is {shape}"
    return None


def _read_csv(path: Path) -> tuple[list[object], list[object]]:
    names: list[object] = []
    vectors: list[object] = []
    with open(path, newline="") as fh:
        for index, row in enumerate(csv.reader(fh)):
            if not row:
                continue
            if index == 0 and not _is_number(row[-1]):
                continue  # a header
            names.append(row[0].strip())
            vectors.append([_number(cell) for cell in row[1:]])
    return names, vectors


def _read_json(path: Path) -> tuple[list[object], list[object]]:
    data = json.loads(path.read_text())
    if isinstance(data, dict) and {"names", "encodings"} <= set(data):
        return list(data["names"]), list(data["encodings"])
    if isinstance(data, list) and all(isinstance(item, dict) for item in data):
        return [item.get("name") for item in data], [item.get("encoding") for item in data]
    raise ValueError('expected {"names": [...], "encodings": [...]} or a list of '
                     '{"name": ..., "encoding": [...]}')


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _checked(path: Path, names: list[object], vectors: list[object]) -> Encodings:
    out = Encodings()
    kept: list[np.ndarray] = []
    for row, (name, vector) in enumerate(zip(names, vectors), start=1):
        where = f"{path}#{row}"
        try:
            values = np.asarray(vector, dtype=np.float32).reshape(-1)
        except (TypeError, ValueError):
            out.skipped.append(Skip(where, "not a list of numbers"))
            continue
        if values.size != DESCRIPTOR_SIZE:
            out.skipped.append(Skip(where, f"{values.size} values, a face_recognition "
                                           f"encoding has {DESCRIPTOR_SIZE}"))
        elif not np.isfinite(values).all():
            out.skipped.append(Skip(where, "values that are not finite numbers"))
        elif not values.any():
            out.skipped.append(Skip(where, "all zeros: not an encoding of a face"))
        else:
            if isinstance(name, bytes):
                name = name.decode("utf-8", "replace")
            try:
                out.names.append(validate_name("" if name is None else str(name)))
            except InvalidName as exc:
                out.skipped.append(Skip(where, str(exc)))
                continue
            kept.append(values)
            out.rows.append(row)
    if kept:
        out.vectors = np.stack(kept)
    return out
