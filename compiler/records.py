"""The `seedcc.random_weights` record: parsing, layouts, and bit-exact regeneration checks."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import onnx

from seedcc.errors import BadInputError, RecordMismatchError
from seedcc.ir.weights import Freeze
from seedcc.rtl_models.generators import GENERATORS, freeze_pattern, random_weights

RECORD_KEY = "seedcc.random_weights"
F32_MAX = float(np.finfo(np.float32).max)
F32_SMALLEST = float(np.finfo(np.float32).smallest_subnormal)
LAYOUTS = ("OIHW", "OI", "IO")


@dataclass(frozen=True)
class Record:
    tensor: str
    generator: str
    seed: int
    scale: float
    layout: str
    freeze: Freeze | None


def to_canonical(arr: np.ndarray, layout: str) -> np.ndarray:
    """Stored layout -> canonical (O, I, KH, KW)."""
    if layout == "OIHW":
        return arr
    if layout == "OI":
        return arr[:, :, None, None]
    return arr.T[:, :, None, None]  # IO


def from_canonical(arr: np.ndarray, layout: str) -> np.ndarray:
    if layout == "OIHW":
        return arr
    if layout == "OI":
        return arr[:, :, 0, 0]
    return arr[:, :, 0, 0].T


def canonical_index(idx: tuple[int, ...], layout: str) -> tuple[int, ...]:
    if layout == "OIHW":
        return idx
    if layout == "OI":
        return (idx[0], idx[1], 0, 0)
    return (idx[1], idx[0], 0, 0)


def read_records(model: onnx.ModelProto, where: str) -> dict[str, Record]:
    """Parse the metadata record; {} when the model has none."""
    raw = next((p.value for p in model.metadata_props if p.key == RECORD_KEY), None)
    if raw is None:
        return {}

    try:
        doc = json.loads(raw)
        if not isinstance(doc, dict):
            raise TypeError("it is not a JSON object")
        if doc.get("version") != 1 or isinstance(doc.get("version"), bool):
            raise ValueError(f"unsupported version {doc.get('version')!r} (expected 1)")
        tensors = doc.get("tensors")
        if not isinstance(tensors, dict):
            raise TypeError("'tensors' must be an object mapping initializer names to records")
        return {name: _parse_record(name, r) for name, r in tensors.items()}
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
        raise BadInputError(f"{where}: metadata {RECORD_KEY!r} is malformed: {e}") from None


def _field(r: dict, name: str, key: str, kind: str, default: object = None) -> object:
    """``r[key]`` checked: "int" an integer 0..2**64-1, "real" a finite number, "text" a string."""
    if key not in r:
        if default is None:
            raise ValueError(f"tensor {name!r}: the record has no {key!r}")
        return default
    v = r[key]
    if kind == "text":
        if not isinstance(v, str):
            raise TypeError(f"tensor {name!r}: {key} must be a string, not {v!r}")
        return v
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"tensor {name!r}: {key} must be a number, not {v!r}")
    if kind == "int":
        if not isinstance(v, int) or not 0 <= v < 2**64:
            raise ValueError(f"tensor {name!r}: {key} must be an integer in 0..2**64-1, not {v!r}")
        return v
    if not math.isfinite(v):
        raise ValueError(f"tensor {name!r}: {key} must be a finite number, not {v!r}")
    return float(v)


def _parse_record(name: str, r: object) -> Record:
    if not isinstance(r, dict):
        raise TypeError(f"tensor {name!r}: the record must be an object, not {r!r}")
    generator = _field(r, name, "generator", "text")
    if generator not in GENERATORS:
        raise ValueError(f"tensor {name!r}: unknown generator {generator!r} "
                         f"(choices: {', '.join(sorted(GENERATORS))})")
    layout = _field(r, name, "layout", "text", "OIHW")
    if layout not in LAYOUTS:
        raise ValueError(f"tensor {name!r}: layout {layout!r} is not one of {LAYOUTS}")
    scale = _field(r, name, "scale", "real")
    if not F32_SMALLEST <= scale <= F32_MAX:
        raise ValueError(f"tensor {name!r}: scale {scale!r} must be a positive float32 number "
                         f"({F32_SMALLEST:.3g} .. {F32_MAX:.3g})")
    fz = r.get("freeze")
    freeze = None
    if fz is not None:
        if not isinstance(fz, dict):
            raise TypeError(f"tensor {name!r}: freeze must be an object, not {fz!r}")
        freeze = Freeze(_field(fz, name, "seed", "int"), _field(fz, name, "prune", "real", 0.0),
                        _field(fz, name, "lock", "real", 0.0))
        if freeze.prune < 0 or freeze.lock < 0 or freeze.prune + freeze.lock > 1:
            raise ValueError(f"tensor {name!r}: freeze shares prune={freeze.prune} "
                             f"lock={freeze.lock} must be >= 0 and sum to <= 1")
    return Record(name, generator, _field(r, name, "seed", "int"), scale, layout, freeze)


def regenerate(rec: Record, stored_shape: tuple[int, ...], where: str) -> np.ndarray:
    """The canonical float32 random tensor of a record, checked against the stored shape."""

    ndim = 4 if rec.layout == "OIHW" else 2
    if len(stored_shape) != ndim:
        raise BadInputError(f"{where}: tensor {rec.tensor!r} has shape {stored_shape}, "
                            f"which does not fit its layout {rec.layout}")
    if rec.layout == "OIHW":
        canon = tuple(stored_shape)
    elif rec.layout == "OI":
        canon = (stored_shape[0], stored_shape[1], 1, 1)
    else:
        canon = (stored_shape[1], stored_shape[0], 1, 1)
    return random_weights(rec.generator, rec.seed, canon, rec.scale)


@dataclass(frozen=True)
class Codes:
    """A weight read as R × code × factor: `codes` uint8 0..max_code (canonical), `factor`
    float64 per output channel (1 where a channel is all zero)."""

    codes: np.ndarray
    factor: np.ndarray


CODE_TOL = 1e-3  # |ratio/factor - code|: float32 products are off by ulps, not by 0.001


def _first(bad: np.ndarray, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The first flagged position of a (O, n) flag array, as an index of `shape`."""
    row = int(np.argmax(bad.any(axis=1)))
    return tuple(int(i) for i in np.unravel_index(row * bad.shape[1] + int(np.argmax(bad[row])), shape))


def decompose(ratio: np.ndarray, max_code: int) -> Codes | tuple[int, ...]:
    """Read `ratio` = W / R (canonical (O, ...)) as integer codes 0..max_code times one factor
    per output channel; on failure return the first canonical index that does not fit.

    Per channel the smallest non-zero |ratio| is k × factor for the smallest k in
    1..max_code that makes every ratio of the channel an integer multiple within CODE_TOL;
    every non-zero ratio of a channel must have the same sign (the factor's). A misfit is
    reported where it breaks the reading (the k) that fits most of its channel.
    """
    o = ratio.shape[0]
    flat = np.asarray(ratio, np.float64).reshape(o, -1)
    nz = flat != 0
    sign = np.sign(flat[np.arange(o), np.argmax(nz, axis=1)])[:, None]
    mag = flat * np.where(sign == 0, 1.0, sign)
    bad = nz & (mag < 0)
    if bad.any():  # a sign that disagrees (a wrong seed): no need to look for codes
        return _first(bad, ratio.shape)
    if (sign >= 0).all() and mag.max(initial=0) <= max_code and np.array_equal(mag, np.rint(mag)):
        return Codes(mag.astype(np.uint8).reshape(ratio.shape), np.ones(o))  # plain codes, factor 1
    low = np.where(nz, mag, np.inf).min(axis=1, keepdims=True)
    low = np.where(np.isfinite(low), low, 1.0)
    chosen = np.zeros(o, np.int64)
    best, best_fit = np.full(o, -1), np.zeros_like(nz)  # per channel: the k that fits most weights
    for k in range(max_code, 0, -1):  # the smallest k that fits wins: last write
        q = mag * (k / low)
        fit = (np.abs(q - np.rint(q)) <= CODE_TOL) & (np.rint(q) <= max_code) | ~nz
        count = fit.sum(axis=1)
        chosen = np.where(count == fit.shape[1], k, chosen)
        better = count > best
        best, best_fit[better] = np.where(better, count, best), fit[better]
    if (chosen == 0).any():  # name a weight that breaks its channel's best reading
        return _first(~best_fit & (chosen == 0)[:, None], ratio.shape)
    codes = np.rint(mag * (chosen[:, None] / low)).astype(np.uint8)
    total = np.where(nz, mag, 0).sum(axis=1)
    count = codes.sum(axis=1, dtype=np.float64)
    factor = np.where(count > 0, total / np.maximum(count, 1), 1.0) * np.where(sign[:, 0] == 0, 1, sign[:, 0])
    return Codes(codes.reshape(ratio.shape), factor)


#: the largest code searched for in a materialised weight (R × codes × factor): the search
#: tries every k up to it per channel, so it stays below the hardware's MAX_CODE for speed
FOLDED_CODE_SEARCH = 7


def check_record(rec: Record, stored: np.ndarray, where: str, allow_zeros: bool,
                 max_code: int = FOLDED_CODE_SEARCH) -> np.ndarray:
    """Regenerate `rec` and require it to equal `stored` bit for bit; return it canonical.

    With `allow_zeros` (form (b): the record sits on the layer's weight itself) the weight
    may also be R × integer codes 0..max_code (a multicoat mask materialised) × one factor
    per output channel (BatchNorm folded in by an exporter's optimiser): then every
    non-zero element must have R's sign times its channel's sign, and the ratios must be
    integer multiples of one factor per channel.
    """
    canon = regenerate(rec, stored.shape, where)
    expect = from_canonical(canon, rec.layout)
    a = np.ascontiguousarray(stored, dtype=np.float32).view(np.uint32)
    b = np.ascontiguousarray(expect, dtype=np.float32).view(np.uint32)
    differ = (a != b) & (stored != 0) if allow_zeros else a != b
    if not differ.any():
        return canon
    idx = tuple(int(i) for i in np.argwhere(differ)[0])
    head = (f"{where}: initializer {rec.tensor!r} differs from its {rec.generator} record "
            f"(seed {rec.seed}, scale {rec.scale!r}) at index {list(idx)} (canonical OIHW "
            f"{list(canonical_index(idx, rec.layout))}): stored {float(stored[idx])!r}, "
            f"regenerated {float(expect[idx])!r}")
    if not allow_zeros:
        raise RecordMismatchError(head)
    # float64: a huge stored value over a small random one must not overflow
    ratio = to_canonical(np.asarray(stored, np.float64), rec.layout) / canon.astype(np.float64)
    found = decompose(ratio, max_code)
    if isinstance(found, Codes):
        return canon
    raise RecordMismatchError(
        f"{head}; nor is it the random tensor times integer codes 0..{max_code} times one factor "
        f"per output channel (a materialised multicoat mask or a folded BatchNorm): at canonical "
        f"index {list(found)} weight/random is {float(ratio[found])!r}, which does not fit the "
        f"other weights of output channel {found[0]} (a wrong seed, scale or layout in the record?)")


def check_freeze(rec: Record, mask: np.ndarray, where: str) -> None:
    """A mask must be 0 at pruned and non-zero at locked positions of the freeze draw."""
    if rec.freeze is None:
        return

    f = rec.freeze
    pattern = freeze_pattern(f.seed, f.prune, f.lock, mask.shape)
    bad = ((pattern == 0) & (mask != 0)) | ((pattern == 1) & (mask == 0))
    if bad.any():
        idx = [int(i) for i in np.argwhere(bad)[0]]
        state = "pruned" if pattern[tuple(idx)] == 0 else "locked"
        raise RecordMismatchError(
            f"{where}: mask of {rec.tensor!r} disagrees with its freeze record at canonical "
            f"index {idx}: the position is {state} but the mask is {int(mask[tuple(idx)])}")
