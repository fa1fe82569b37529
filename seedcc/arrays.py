"""Reading and writing user arrays (.npy / .npz), keyed by graph input/output name."""

from __future__ import annotations

import math
import os
import zipfile
from typing import BinaryIO

import numpy as np

from seedcc.errors import BadInputError, SeedccError
from seedcc.files import atomic_write, check_input_file
from seedcc.limits import check_memory

F32_MAX = float(np.finfo(np.float32).max)


def _check_header(fp: BinaryIO, where: str, limit: int | None) -> None:
    """Read a .npy header (without the data): refuse object, non-numeric and over-limit arrays."""
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version == (2, 0):
        shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
    if dtype.hasobject:
        raise BadInputError(f"{where} holds Python objects (dtype {dtype}), which seedcc never "
                            f"unpickles; save a float32 array")
    if dtype.kind not in "iuf":
        raise BadInputError(f"{where} has dtype {dtype}; expected a real number array (float32)")
    check_memory(math.prod(shape) * (dtype.itemsize + 4), f"reading {where} of shape {shape}", limit)


def as_float32(arr: np.ndarray, where: str) -> np.ndarray:
    """`arr` as float32, refusing non-numeric arrays and values that are NaN, infinite or
    beyond float32's range (checked before converting, so nothing overflows)."""
    arr = np.asarray(arr)
    if arr.dtype.kind not in "iuf":
        raise BadInputError(f"{where} has dtype {arr.dtype}; expected a real number array (float32)")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if arr.dtype.itemsize > 4:
            bad |= np.abs(np.where(bad, 0, arr)) > F32_MAX
        if bad.any():
            idx = [int(i) for i in np.argwhere(bad)[0]]
            raise BadInputError(f"{where} holds {float(arr[tuple(idx)])!r} at index {idx}; every value "
                                f"must be a finite float32 number")
    return arr.astype(np.float32)


def read_arrays(path: str | os.PathLike, names: list[str], what: str = "input",
                limit: int | None = None) -> dict[str, np.ndarray]:
    """A .npy (single-input models) or .npz (arrays keyed by input name) as float32 batches.

    Headers are read first: an array of Python objects is refused (nothing is ever
    unpickled), and so is one whose size exceeds the memory limit (`seedcc.limits`)."""
    path = check_input_file(path, f"{what} file", f"pass a .npy or .npz {what} file")
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
        if magic[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
            with zipfile.ZipFile(path) as z:
                files = {m[:-4]: m for m in z.namelist() if m.endswith(".npy")}
                missing = [n for n in names if n not in files]
                if missing:
                    raise BadInputError(f"{path}: no array for {what} {', '.join(map(repr, missing))} "
                                        f"(the file has {', '.join(map(repr, files)) or 'none'})")
                arrays = {}
                for n in names:
                    with z.open(files[n]) as f:
                        _check_header(f, f"{path}: {what} {n!r}", limit)
                    with z.open(files[n]) as f:
                        arrays[n] = np.lib.format.read_array(f, allow_pickle=False)
        elif magic == b"\x93NUMPY":
            if len(names) != 1:
                raise BadInputError(f"{path}: the model has {len(names)} inputs ({', '.join(names)}); "
                                    f"give a .npz with one array per input name")
            with open(path, "rb") as f:
                _check_header(f, f"{path}: {what}", limit)
                f.seek(0)
                arrays = {names[0]: np.lib.format.read_array(f, allow_pickle=False)}
        else:
            raise ValueError("it starts with neither the .npy nor the .npz (zip) signature")
    except SeedccError:
        raise
    except Exception as e:  # noqa: BLE001 - numpy, zipfile, zlib, tokenize raise many types
        raise BadInputError(f"{path}: not a readable .npy or .npz array file "
                            f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    return {n: as_float32(a, f"{path}: {what} {n!r}") for n, a in arrays.items()}


def write_arrays(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """One array -> .npy, several -> .npz (by the path's suffix), written atomically."""
    path = os.fspath(path)
    if not path.endswith(".npz") and len(arrays) != 1:
        raise BadInputError(f"{path}: the model has {len(arrays)} outputs; write a .npz")

    def write(f) -> None:
        if path.endswith(".npz"):
            np.savez(f, **arrays)
        else:
            np.save(f, next(iter(arrays.values())))

    atomic_write(path, write)
