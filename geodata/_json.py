"""Strict JSON for every file and ``--json`` output motcua writes.

Python's :mod:`json` writes ``NaN`` and ``Infinity`` by default, which no
other JSON reader accepts.  :func:`json_safe` turns values into plain JSON
types (missing, NaN and infinite numbers become ``null``; numpy scalars,
arrays, dates and paths become numbers, lists and text) and :func:`dumps`
writes with ``allow_nan=False`` so a value that slipped through fails loudly
instead of producing a file other programs cannot read.

Reading stays lenient: :func:`json.loads` still accepts the ``NaN`` of
files written by older versions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, is_dataclass
from datetime import date, datetime, time
from enum import Enum
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON types; ``None`` for missing, NaN and infinite numbers."""
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return json_safe(float(value))
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, datetime | date | time | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, Enum):
        return json_safe(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return json_safe(asdict(value))
    return value


def dumps(value: Any, *, indent: int | None = 1, default: Callable[[Any], Any] | None = None,
          **kwargs: Any) -> str:
    """Strict JSON text of ``value`` (UTF-8 characters kept, no NaN/Infinity)."""
    return json.dumps(json_safe(value), ensure_ascii=False, allow_nan=False, indent=indent,
                      default=default, **kwargs)
