"""Reading ``.npy`` and ``.npz`` arrays from users' files with every size checked first.

``np.load`` trusts a file: an ``.npy`` header may claim 10^12 rows in a 1.5 KB file (numpy
then asks for terabytes), and an ``.npz`` member may inflate a few megabytes into
gigabytes. Here the header of each array is read on its own and checked (its shape against
what the caller expects, its data size against the bytes actually there, the total against
``MAX_ARRAY_BYTES``, and for arrays of numbers how far a zip member inflates) before a byte
of data is read. Pickled object arrays are never loaded.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np

from facerec.errors import EncodingsError

MAX_ARRAY_BYTES = 1 << 30
"""Largest array read (1 GiB: two million 128-value float32 encodings)."""

MAX_INFLATION = 20
"""Most a zip member of numbers may inflate: face encodings barely compress, so a member
that grows more is not one (a zip bomb)."""

ShapeCheck = Callable[[tuple[int, ...], np.dtype], str | None]
"""Says what is wrong with an array of this shape and dtype, or None when it is wanted."""


def load_npy(path: Path, check: ShapeCheck) -> np.ndarray:
    """The array in the ``.npy`` file at ``path``, once its header passed ``check`` and
    its size was found true.

    Raises:
        EncodingsError: what is wrong with it.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        _checked_header(fh, size, check, str(path))
        fh.seek(0)
        return np.lib.format.read_array(fh, allow_pickle=False)


def load_npz_member(archive: zipfile.ZipFile, name: str, check: ShapeCheck,
                    numbers: bool, where: str, max_bytes: int = MAX_ARRAY_BYTES
                    ) -> np.ndarray:
    """Array ``name`` (without ``.npy``) of an open ``.npz`` archive, checked as
    ``load_npy`` does; ``numbers`` also limits how far it inflates, and ``max_bytes``
    what it may inflate to (read from the zip's directory, before inflating anything).

    Raises:
        EncodingsError: missing, or what is wrong with it.
    """
    label = f"{where}: array {name!r}"
    try:
        info = archive.getinfo(name + ".npy")
    except KeyError:
        raise EncodingsError(f"{label} is missing; found "
                             f"{sorted(n.removesuffix('.npy') for n in archive.namelist())}"
                             ) from None
    if info.file_size > min(max_bytes, MAX_ARRAY_BYTES):
        raise EncodingsError(f"{label} inflates to {info.file_size:,} bytes, over the "
                             f"{min(max_bytes, MAX_ARRAY_BYTES):,} facerec reads for it")
    if numbers and info.compress_size and info.file_size > MAX_INFLATION * info.compress_size:
        raise EncodingsError(f"{label} inflates {info.file_size / info.compress_size:.0f} "
                             "times: that is not face encodings (a zip bomb?)")
    with archive.open(info) as fh:
        _checked_header(fh, info.file_size, check, label)
    with archive.open(info) as fh:
        return np.lib.format.read_array(fh, allow_pickle=False)


def _checked_header(fh: IO[bytes], size: int, check: ShapeCheck, label: str) -> None:
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise EncodingsError(f"{label}: .npy version {version} is not read")
    except ValueError as exc:
        raise EncodingsError(f"{label}: not an .npy array ({exc})") from None
    if dtype.hasobject:
        raise EncodingsError(f"{label} holds Python objects, which only a pickle can read")
    problem = check(tuple(shape), dtype)
    if problem is not None:
        raise EncodingsError(f"{label}: {problem}")
    claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
    present = size - fh.tell()
    if claimed > MAX_ARRAY_BYTES:
        raise EncodingsError(f"{label} claims {shape} values ({claimed:,} bytes), over the "
                             f"{MAX_ARRAY_BYTES:,} facerec reads")
    if claimed != present:
        raise EncodingsError(f"{label} claims {shape} values ({claimed:,} bytes) but holds "
                             f"{present:,} bytes: the file is damaged or forged")
