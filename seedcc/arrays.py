"""Reading and writing user arrays (.npy / .npz), keyed by graph input/output name."""

from __future__ import annotations

import os
import zipfile

import numpy as np

from seedcc.errors import BadInputError
from seedcc.files import atomic_write, check_input_file


def read_arrays(path: str | os.PathLike, names: list[str], what: str = "input") -> dict[str, np.ndarray]:
    """A .npy (single-input models) or .npz (arrays keyed by input name) as float32 batches."""
    path = check_input_file(path, f"{what} file", f"pass a .npy or .npz {what} file")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise BadInputError(f"{path}: not a .npy or .npz array file ({e})") from None
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            missing = [n for n in names if n not in data.files]
            if missing:
                raise BadInputError(f"{path}: no array for {what} {', '.join(map(repr, missing))} "
                                    f"(the file has {', '.join(map(repr, data.files)) or 'none'})")
            arrays = {n: data[n] for n in names}
    else:
        if len(names) != 1:
            raise BadInputError(f"{path}: the model has {len(names)} inputs ({', '.join(names)}); "
                                f"give a .npz with one array per input name")
        arrays = {names[0]: data}
    for n, a in arrays.items():
        if not np.issubdtype(a.dtype, np.number) or np.issubdtype(a.dtype, np.complexfloating):
            raise BadInputError(f"{path}: {what} {n!r} has dtype {a.dtype}; expected a real number array")
    return {n: a.astype(np.float32) for n, a in arrays.items()}


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
