"""A cache of validated tables beside the data, so that a second load is cheap.

:func:`analytics.load` validates (and links) every table of a data folder. When a
table file has not changed since the last load, its validated rows and rejects are read
back from ``DATA_DIR/.adherence-cache/`` (Parquet) instead of being parsed and checked
again.

Rules:

* **Keyed by content.** An entry's key is a SHA-256 over the table file's own content
  hash and everything else its validation depends on: the patients file (time zones
  and known patients), for ``programs`` and ``sessions`` the catalog and the
  ``aliases`` file (linking), the file name, and the source of the validating modules
  (a new version of the rules never reads an old entry). A changed input gives another
  key: a cache entry is never used for data it was not made from.
* **Invisible in results.** A loaded :class:`analytics.Dataset` is the same whether its
  tables came from the cache or not (rejects and line numbers included). The one
  check that depends on the clock, "timestamp in the future", is kept exact: an entry
  records the latest accepted and the earliest future timestamp, and is only used
  while *now* still falls between them (see :attr:`analytics.validate.Validated.instants`).
* **Safe to delete**, any time: it is only ever a copy. Files are written atomically
  (:func:`analytics.fsutil.atomic_path`); a folder that cannot be written, or an entry
  that cannot be read, simply means no caching. Tables with untyped (``object``)
  columns, which Parquet cannot round-trip exactly, are not cached.
* **Only where it pays.** By default a table is cached when its file holds at least
  :data:`MIN_BYTES` (1 MiB): smaller ones validate in milliseconds, and a folder of
  small files stays exactly as the user left it. ``load(..., cache=True)`` or
  ``ADHERENCE_CACHE=1`` caches every table; ``cache=False`` or ``ADHERENCE_CACHE=0``
  turns caching off.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from analytics.catalog import Catalog
from analytics.fsutil import atomic_path, atomic_write_text
from analytics.validate import FUTURE_TOLERANCE, Validated

#: Folder name inside the data folder.
CACHE_DIR = ".adherence-cache"
#: Bumped when the layout of an entry changes.
FORMAT = 1
#: By default only table files at least this large (bytes) are cached.
MIN_BYTES = 1 << 20
#: dtypes that Parquet round-trips exactly (anything else is not cached).
_EXACT_DTYPES = ("string", "Int64", "int64", "float64", "bool", "boolean", "datetime64[ns]",
                 "datetime64[ns, UTC]")
#: Modules whose rules shape a validated table.
_RULE_MODULES = ("io.py", "validate.py", "link.py", "schema.py", "names.py", "dataset.py",
                 "cache.py", "vector.py")


def mode(flag: bool | None = None) -> str:
    """``"on"`` (cache every table), ``"off"``, or ``"auto"`` (tables of at least
    :data:`MIN_BYTES`): ``flag`` when given, else the ``ADHERENCE_CACHE`` environment
    variable (``1``/``0``), else ``"auto"``."""
    if flag is not None:
        return "on" if flag else "off"
    value = os.environ.get("ADHERENCE_CACHE", "").strip().lower()
    if value in ("0", "false", "no", "off"):
        return "off"
    if value in ("1", "true", "yes", "on"):
        return "on"
    return "auto"


def wanted(path: Path, how: str) -> bool:
    """Whether the table file at ``path`` is cached in mode ``how`` (see :func:`mode`)."""
    if how == "on":
        return True
    if how == "off":
        return False
    try:
        return path.stat().st_size >= MIN_BYTES
    except OSError:
        return False


def file_digest(path: Path) -> str:
    """SHA-256 (hex) of a file's content, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def _rules_digest() -> str:
    here = Path(__file__).parent
    digest = hashlib.sha256(str(FORMAT).encode())
    for name in _RULE_MODULES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def catalog_digest(catalog: Catalog) -> str:
    """SHA-256 of the catalog's records (ids, names, aliases, prescriptions)."""
    text = json.dumps(catalog.to_records(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _cacheable(frame: pd.DataFrame) -> bool:
    return all(str(dtype) in _EXACT_DTYPES for dtype in frame.dtypes)


class TableCache:
    """Validated tables of one data folder, stored in ``folder/.adherence-cache``."""

    def __init__(self, folder: Path) -> None:
        self.dir = folder / CACHE_DIR

    @staticmethod
    def key(*parts: str) -> str:
        """The entry key for the given content digests and names."""
        digest = hashlib.sha256(_rules_digest().encode())
        for part in parts:
            digest.update(b"\0" + part.encode("utf-8"))
        return digest.hexdigest()[:40]

    def _paths(self, table: str, key: str) -> tuple[Path, Path, Path]:
        stem = self.dir / f"{table}-{key}"
        return (stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".parquet"),
                stem.with_name(stem.name + ".rejects.parquet"))

    def get(self, table: str, key: str, now: pd.Timestamp | None) -> Validated | None:
        """The cached :class:`Validated` for ``key``, or ``None`` (absent, unreadable, or
        validated for a *now* that would judge a timestamp differently)."""
        meta_path, frame_path, rejects_path = self._paths(table, key)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("format") != FORMAT:
                return None
            latest, future = (_instant(meta.get("latest")), _instant(meta.get("earliest_future")))
            clock = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
            if clock.tzinfo is None:
                clock = clock.tz_localize("UTC")
            limit = clock + FUTURE_TOLERANCE
            if (latest is not None and latest > limit) or (future is not None
                                                            and future <= limit):
                return None
            frame = pd.read_parquet(frame_path)
            rejects = pd.read_parquet(rejects_path)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        except Exception:  # a damaged Parquet file raises many types: never fatal
            return None
        return Validated(frame, rejects, int(meta["read"]), (latest, future))

    def put(self, table: str, key: str, validated: Validated) -> None:
        """Store ``validated`` under ``key`` (best effort; older entries of ``table`` are
        removed)."""
        if not (_cacheable(validated.frame) and _cacheable(validated.rejects)):
            return
        meta_path, frame_path, rejects_path = self._paths(table, key)
        latest, future = validated.instants
        meta: dict[str, Any] = {
            "format": FORMAT, "table": table, "read": validated.read,
            "latest": None if latest is None else latest.isoformat(),
            "earliest_future": None if future is None else future.isoformat(),
        }
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            with atomic_path(frame_path) as tmp:
                validated.frame.to_parquet(tmp, index=False)
            with atomic_path(rejects_path) as tmp:
                validated.rejects.to_parquet(tmp, index=False)
            atomic_write_text(meta_path, json.dumps(meta, indent=1))  # written last
        except Exception:  # read-only folder, full disk, unsupported value: no caching
            for path in (meta_path, frame_path, rejects_path):
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
            return
        keep = {p.name for p in (meta_path, frame_path, rejects_path)}
        for old in self.dir.glob(f"{table}-*"):
            if old.name not in keep and not old.name.startswith("."):
                with contextlib.suppress(OSError):
                    old.unlink()


def _instant(text: str | None) -> pd.Timestamp | None:
    if text is None:
        return None
    value = pd.Timestamp(text)
    return value.tz_localize("UTC") if value.tzinfo is None else value.tz_convert("UTC")
