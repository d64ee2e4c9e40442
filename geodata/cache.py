"""On-disk cache of road graphs and coverage results, keyed by their inputs.

A leaf module: it knows files, digests and pickles, nothing of road graphs
(:func:`geodata.network.cached_graph` builds on it).

Keys are SHA-256 digests of everything that changes the result (file
contents, settings, coordinates), so a stale entry is never read: a changed
input gives a new key.  Entries are written atomically (temporary file, then
rename).  The cache is a plain folder; deleting it is always safe.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

def default_cache_dir() -> Path:
    """``$MOTCUA_CACHE``, else ``$XDG_CACHE_HOME/motcua``, else ``~/.cache/motcua``."""
    env = os.environ.get("MOTCUA_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "motcua"


def hash_parts(*parts: Any) -> str:
    """Stable digest (24 hex digits) of ``repr`` of each part, in order."""
    h = hashlib.sha256()
    for part in parts:
        data = part if isinstance(part, bytes) else repr(part).encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()[:24]


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's contents (hex)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_pickle(obj: Any, path: Path) -> None:
    """Pickle ``obj`` to ``path`` atomically; a failure is logged, never raised."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
    except OSError as exc:
        logger.warning("could not write cache %s: %s", path, exc)


def read_pickle(path: Path) -> Any | None:
    """Unpickle ``path``; ``None`` if missing or unreadable (then it is rebuilt)."""
    if not path.exists():
        return None
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
        logger.warning("ignoring unreadable cache %s: %s", path, exc)
        return None
