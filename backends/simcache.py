"""Where simulator builds are kept, and under which key (docs/rtl.md).

Contract: the cache lives in the user's cache directory, never in the source tree —
``$SEEDCC_SIM_BUILD`` if set, else ``$XDG_CACHE_HOME/seedcc/sim``, else
``~/.cache/seedcc/sim``. Each build has one folder named after a :class:`BuildSpec`'s
:meth:`~BuildSpec.key`, a hash of everything that changes the built model: simulator name,
version and executable, cocotb version and library directory (the model links it by path),
top level, parameters, waves and their format, VPI visibility, extra build flags and the
contents of every source and header file. Same key, same model; any change, new folder.
Concurrent builds of one key are serialised by :func:`locked`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BUILD_ENV = "SEEDCC_SIM_BUILD"
KEY_CHARS = 16  # hex digits of the SHA-256 kept in folder names


def build_root(env: Mapping[str, str] | None = None) -> Path:
    """The cache directory for `env` (default ``os.environ``, only read); not created here."""
    env = os.environ if env is None else env
    if env.get(BUILD_ENV):
        return Path(env[BUILD_ENV]).expanduser().resolve()
    xdg = env.get("XDG_CACHE_HOME", "")
    # The XDG base-directory spec says a relative XDG_CACHE_HOME is invalid and ignored.
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "seedcc" / "sim"


@dataclass(frozen=True)
class BuildSpec:
    """Everything a build depends on. ``sources`` and ``headers`` are hashed by content (and
    file name), so editing any of them gives a new key; their directories do not count."""

    simulator: str
    version: str
    executable: str
    cocotb: str  # cocotb version and library directory
    top: str
    parameters: tuple[tuple[str, int], ...]
    waves: bool
    wave_format: str  # "fst" or "vcd"
    public: bool
    flags: tuple[str, ...]
    sources: tuple[Path, ...]
    headers: tuple[Path, ...] = ()
    includes: tuple[Path, ...] = ()  # extra include directories (user RTL)

    def key(self) -> str:
        h = hashlib.sha256()
        settings = [self.simulator, self.version, self.executable, self.cocotb, self.top,
                    sorted(self.parameters), self.waves, self.wave_format, self.public,
                    list(self.flags), [str(p) for p in self.includes]]
        h.update(json.dumps(settings).encode())
        for group in (self.sources, self.headers):
            h.update(b"\0group")
            for path in group:
                data = path.read_bytes()
                h.update(f"\0{path.name}\0{len(data)}\0".encode())
                h.update(data)
        return h.hexdigest()[:KEY_CHARS]

    def folder(self, root: Path) -> Path:
        """This build's folder under the cache `root`."""
        return root / f"{self.simulator}-{self.top}-{self.key()}"

    def describe(self) -> dict[str, object]:
        """A JSON-able summary written beside the build, for people browsing the cache."""
        return {"simulator": f"{self.simulator} {self.version}", "executable": self.executable,
                "cocotb": self.cocotb, "top": self.top, "parameters": dict(self.parameters),
                "waves": self.waves, "wave_format": self.wave_format, "public": self.public,
                "flags": list(self.flags), "sources": [str(p) for p in self.sources]}


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (through ``<folder>.lock``) while building or
    checking it, so that concurrent processes build one key once."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
