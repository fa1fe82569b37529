"""Reading and writing user files safely: a clear error up front for a path that is not a
readable regular file, and never a half-written output."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from typing import BinaryIO

from seedcc.errors import BadInputError


def check_input_file(path: str | os.PathLike, what: str, hint: str) -> str:
    """Fail before reading unless `path` is an existing, readable regular file; `what` names
    the file's role ("ONNX model"), `hint` says what to pass instead."""
    path = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise BadInputError(f"{path}: no such file; {hint}") from None
    except OSError as e:
        raise BadInputError(f"{path}: cannot read the {what} ({e.strerror}); {hint}") from None
    if stat.S_ISDIR(mode):
        raise BadInputError(f"{path}: is a folder, not a file; {hint}")
    if not stat.S_ISREG(mode):
        raise BadInputError(f"{path}: is not a regular file (a pipe, socket or device); {hint}")
    if not os.access(path, os.R_OK):
        raise BadInputError(f"{path}: the {what} is not readable (permission denied)")
    return path


def check_writable(path: str | os.PathLike) -> str:
    """Fail before any work if `path` cannot be created (missing or unwritable folder)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise BadInputError(f"{path}: the output folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise BadInputError(f"{path}: the output folder {folder} is not writable")
    if os.path.isdir(path):
        raise BadInputError(f"{path}: is a folder; give a file name")
    return path


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call `write(f)` on a temporary file beside `path`, then rename it into place."""
    path = check_writable(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)),
                                   prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    except OSError as e:
        raise BadInputError(f"cannot write {path} ({e.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        _unlink(tmp)
        raise BadInputError(f"cannot write {path} ({e.strerror})") from None
    except BaseException:
        _unlink(tmp)
        raise


def _unlink(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
