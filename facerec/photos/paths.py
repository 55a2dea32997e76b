"""Finding the image files a user names, and reading them safely.

Only regular files are read: a FIFO, a device (a link to ``/dev/zero``), a socket or a
folder with an image's name is refused with the reason, never opened for reading in a
way that could hang or fill memory, and a file larger than ``MAX_FILE_BYTES`` is refused
before it is read. Entries of a folder that are refused are reported, not dropped.
"""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Iterable
from pathlib import Path

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff",
                              ".gif", ".ppm", ".pgm", ".jfif", ".avif", ".heic", ".heif",
                              ".hif"})

UNREAD_PHOTO_FORMATS = dict.fromkeys((".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf",
                                      ".rw2"), "camera RAW")
"""Photo formats facerec does not read yet, by extension: a folder's files of these kinds
are named with this reason, never passed over in silence."""


def unread_format_reason(kind: str) -> str:
    """Why a photo of format ``kind`` (a value of ``UNREAD_PHOTO_FORMATS``) is skipped."""
    return f"a {kind} photo, which facerec does not read yet; convert it to JPEG"

MAX_FILE_BYTES = 256 * 1024 * 1024
"""Largest image file read (a 120-megapixel photo is well under it)."""

NOT_UTF8 = ("its name is not valid UTF-8, and a database keeps names as text; rename it "
            "(for example with convmv) to enroll it")
"""Why a photo whose path holds bytes that are not UTF-8 is not enrolled."""

Refusal = tuple[Path, str]
"""A path that was not taken, and why."""


class UnreadableFile(OSError):
    """A path that is not a regular file of a readable size; ``reason`` says why."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def is_text(name: str) -> bool:
    """Whether ``name`` (a path as Python decodes it) is valid UTF-8 text: False when the
    file system gave bytes that are not, which Python keeps as lone surrogates."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_image_name(path: Path) -> bool:
    """Whether the file name has an image extension (case-insensitive)."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


def not_a_file_reason(mode: int) -> str | None:
    """Why a file of stat mode ``mode`` is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, kind in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return f"not a regular file ({kind})"
    return "not a regular file"


def read_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at ``path`` (see ``read_file_and_state``)."""
    return read_file_and_state(path, max_bytes)[0]


def read_file_and_state(path: Path, max_bytes: int = MAX_FILE_BYTES
                        ) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file at ``path``, and its ``os.fstat`` taken once they
    were read: the size and modification time that go with those bytes (a walk's
    earlier ``stat`` may describe other bytes, if the file changed in between).

    The file is opened without blocking and checked on its descriptor, so a FIFO or
    device swapped in after a check is refused too; at most ``max_bytes`` are read.

    Raises:
        UnreadableFile: not a regular file, or larger than ``max_bytes``.
        OSError: it cannot be opened or read (missing, permission, I/O).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        reason = not_a_file_reason(info.st_mode)
        if reason:
            raise UnreadableFile(path, reason)
        if info.st_size > max_bytes:
            raise UnreadableFile(path, f"file too large ({info.st_size:,} bytes, limit "
                                       f"{max_bytes:,})")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
        after = os.fstat(fd)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise UnreadableFile(path, f"file too large (over {max_bytes:,} bytes)")
    return data, after


def scan_folder(root: Path) -> tuple[list[Path], list[Refusal]]:
    """Image files under ``root``, recursively, in a stable order, and the entries with an
    image's name that are refused (broken links, FIFOs, devices, folders; photos in a
    format not read, such as HEIC), with why."""
    images: list[Path] = []
    refused: list[Refusal] = []
    for path in sorted(root.rglob("*")):
        kind = _entry_problem(path)
        if kind is None:
            if is_image_name(path):
                images.append(path)
            elif path.suffix.lower() in UNREAD_PHOTO_FORMATS:
                refused.append((path, unread_format_reason(
                    UNREAD_PHOTO_FORMATS[path.suffix.lower()])))
        elif is_image_name(path) and kind != "a folder":
            refused.append((path, kind))
        elif is_image_name(path):
            refused.append((path, "a folder with an image's name (its images are read)"))
    return images, refused


def _entry_problem(path: Path) -> str | None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "a broken link" if path.is_symlink() else "vanished while reading the folder"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if stat.S_ISDIR(mode):
        return "a folder"
    return not_a_file_reason(mode)


def expand_inputs(items: Iterable[str | Path]) -> tuple[list[Path], list[Refusal]]:
    """Resolve files, folders (recursively, image files only) and glob patterns.

    Returns:
        (paths in a stable order without duplicates, refusals: names that matched
        nothing, and refused folder entries, each with its reason). A file named
        directly is returned whatever it is; reading it says what is wrong.
    """
    found: dict[Path, None] = {}
    refused: list[Refusal] = []
    for item in items:
        text = str(item)
        path = Path(text)
        if path.is_dir():
            images, bad = scan_folder(path)
            found.update(dict.fromkeys(images))
            refused += bad
        elif path.exists() or path.is_symlink():
            found[path] = None
        elif glob.has_magic(text):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            files = [m for m in matches if not m.is_dir()]
            if not files:
                refused.append((path, "no such file, folder or match"))
            found.update(dict.fromkeys(files))
        else:
            refused.append((path, "no such file, folder or match"))
    return list(found), refused
