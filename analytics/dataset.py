"""``analytics.load``: read, validate and link a whole data folder into one dataset.

Flow: :mod:`analytics.io` (files) -> :mod:`analytics.validate` (values) ->
:mod:`analytics.link` (names -> catalog ids). Whole-file problems raise
:class:`analytics.errors.DataFileError`; row problems become rejects; nothing is lost:
for every table ``read == loaded + rejected``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from analytics import cache as cache_rules
from analytics.cache import TableCache, catalog_digest, file_digest
from analytics.catalog import Catalog, load_catalog
from analytics.errors import DataFileError
from analytics.io import RawTable, find_table_file, read_table
from analytics.link import Linker, apply_catalog_defaults, link_frame
from analytics.schema import PAIN, PATIENTS, PROGRAMS, SESSIONS, Column, Table
from analytics.validate import Validated, as_text, empty_rejects, validate_table

#: The optional user alias file extends the catalog: ``aliases.csv`` (name, exercise_id).
ALIASES = Table("aliases", (
    Column("name", "text", True, "a name people type"),
    Column("exercise_id", "text", True, "the catalog id it means"),
))

UNLINKED_COLUMNS = ("name", "count", "tables", "suggestions")
FUZZY_COLUMNS = ("name", "count", "exercise_id", "matched", "score")


@dataclass(frozen=True)
class Dataset:
    """A validated, linked data folder. Treat every frame as read-only.

    Attributes
    ----------
    path : Path
        The data folder.
    patients, programs, sessions, pain : pandas.DataFrame
        Loaded rows (see :mod:`analytics.validate` for parsed columns). ``programs`` and
        ``sessions`` also carry ``exercise_id`` (catalog id, missing when unlinked),
        ``link_method`` (exact, plural, fuzzy, none), ``link_score`` (0-100) and
        ``link_key``; ``programs`` carries ``dose_from_catalog`` and ``dose_source``.
    rejects : pandas.DataFrame
        ``table, file, line, column, value, reason``: one row per problem.
    accounting : pandas.DataFrame
        ``table, file, read, loaded, rejected`` per table (``read == loaded + rejected``).
    unlinked : pandas.DataFrame
        ``name, count, tables, suggestions`` for names that match no catalog entry;
        ``suggestions`` is a list of ``{"exercise_id", "name", "score"}``.
    fuzzy : pandas.DataFrame
        ``name, count, exercise_id, matched, score``: names linked by fuzzy matching.
    catalog : Catalog
        The exercise catalog used for linking.
    """

    path: Path
    patients: pd.DataFrame
    programs: pd.DataFrame
    sessions: pd.DataFrame
    pain: pd.DataFrame
    rejects: pd.DataFrame
    accounting: pd.DataFrame
    unlinked: pd.DataFrame
    fuzzy: pd.DataFrame
    catalog: Catalog

    @property
    def known_patient_ids(self) -> frozenset[str]:
        """Every patient id named in any loaded table."""
        ids = pd.concat([t["patient_id"] for t in (self.patients, self.programs,
                                                   self.sessions, self.pain)],
                        ignore_index=True)
        return frozenset(ids.dropna().astype(str))

    @property
    def clean(self) -> bool:
        """True when every row loaded and every name linked."""
        return self.rejects.empty and self.unlinked.empty


def load(path: str | Path, *, catalog: Catalog | None = None,
         now: pd.Timestamp | None = None, cache: bool | None = None) -> Dataset:
    """Load, validate and link the data folder at ``path``.

    Parameters
    ----------
    path : str or Path
        Folder holding ``patients``, ``programs``, ``sessions``, ``pain`` tables
        (``.csv``, ``.parquet`` or ``.xlsx``; each optional) and optionally
        ``aliases.csv``.
    catalog : Catalog, optional
        Defaults to the packaged catalog.
    now : pandas.Timestamp, optional
        The present (UTC) for the "in the future" check; defaults to the clock.
    cache : bool, optional
        Read unchanged tables from, and write validated tables to,
        ``path/.adherence-cache/`` (see :mod:`analytics.cache`). Default: tables of at
        least 1 MiB (``ADHERENCE_CACHE=1``/``0`` in the environment: all/none); True
        or False: all tables / none. The result is the same either way.

    Raises
    ------
    DataFileError
        When the folder or a whole file cannot be used.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataFileError(str(folder), "no such data folder")
    catalog = catalog or load_catalog()
    how = cache_rules.mode(cache)
    keys = _CacheKeys(folder, catalog, how) if how != "off" else None

    patients, patients_file, _ = _table(folder, PATIENTS, keys, now)
    timezones = dict(zip(patients.frame["patient_id"], patients.frame["timezone"], strict=True))
    known = frozenset(patients.frame["patient_id"]) if patients_file else None

    results = {"patients": (patients_file, patients)}
    linked_already: set[str] = set()
    for spec in (PROGRAMS, SESSIONS, PAIN):
        validated, file, cached = _table(folder, spec, keys, now, timezones=timezones,
                                         known_patients=known)
        results[spec.name] = (file, validated)
        if cached:
            linked_already.add(spec.name)

    user_aliases, alias_rejects, alias_row = _user_aliases(folder, catalog, now)
    linker = Linker.from_catalog(catalog, user_aliases)
    for name in ("programs", "sessions"):
        file, validated = results[name]
        if name in linked_already:  # the cache holds it linked
            continue
        linked = link_frame(validated.frame, linker)
        if name == "programs":
            linked = apply_catalog_defaults(linked, catalog)
        validated = replace(validated, frame=linked)
        results[name] = (file, validated)
        if keys is not None and file is not None:
            keys.store(name, validated)
    programs = results["programs"][1].frame
    sessions = results["sessions"][1].frame

    reject_parts = [v.rejects for _, v in results.values() if not v.rejects.empty]
    if not alias_rejects.empty:
        reject_parts.append(alias_rejects)
    rejects = pd.concat(reject_parts, ignore_index=True) if reject_parts else empty_rejects()
    accounting = pd.DataFrame(
        [{"table": name, "file": file or "", "read": v.read, "loaded": len(v.frame),
          "rejected": v.rejected} for name, (file, v) in results.items()] + alias_row)
    return Dataset(
        path=folder,
        patients=patients.frame,
        programs=programs,
        sessions=sessions,
        pain=results["pain"][1].frame,
        rejects=rejects,
        accounting=accounting,
        unlinked=_unlinked(linker, {"programs": programs, "sessions": sessions}),
        fuzzy=_fuzzy({"programs": programs, "sessions": sessions}),
        catalog=catalog,
    )


class _CacheKeys:
    """Cache keys of one folder's tables (see :mod:`analytics.cache`)."""

    def __init__(self, folder: Path, catalog: Catalog, how: str) -> None:
        self.cache = TableCache(folder)
        self.folder = folder
        self.catalog = catalog
        self.how = how
        self.keys: dict[str, str] = {}
        self._digests: dict[str, str] = {}

    def _digest(self, name: str) -> str:
        if name not in self._digests:
            path = find_table_file(self.folder, name)
            self._digests[name] = "" if path is None else path.name + ":" + file_digest(path)
        return self._digests[name]

    def key(self, name: str) -> str:
        """The key of table ``name`` (its file, the patients file, and for linked tables
        the catalog and the aliases file)."""
        if name not in self.keys:
            parts = [name, self._digest(name)]
            if name != "patients":
                parts.append(self._digest("patients"))
            if name in ("programs", "sessions"):
                parts += [catalog_digest(self.catalog), self._digest("aliases")]
            self.keys[name] = TableCache.key(*parts)
        return self.keys[name]

    def wanted(self, name: str) -> bool:
        """Whether table ``name`` is cached at all (see :func:`analytics.cache.wanted`)."""
        try:
            path = find_table_file(self.folder, name)
        except DataFileError:
            return False
        return path is not None and cache_rules.wanted(path, self.how)

    def fetch(self, name: str, now: pd.Timestamp | None) -> Validated | None:
        if not self.wanted(name):
            return None
        try:
            key = self.key(name)
        except (OSError, DataFileError):  # reported by the normal reading path
            return None
        return self.cache.get(name, key, now)

    def _unchanged(self, name: str) -> bool:
        """Whether the files behind ``name``'s key still have the content hashed for it
        (a file rewritten while it was being read is not cached)."""
        involved = [name] + (["patients"] if name != "patients" else []) + (
            ["aliases"] if name in ("programs", "sessions") else [])
        for table in involved:
            before = self._digests.get(table)
            path = find_table_file(self.folder, table)
            now = "" if path is None else path.name + ":" + file_digest(path)
            if before is None or before != now:
                return False
        return True

    def store(self, name: str, validated: Validated) -> None:
        if not self.wanted(name):
            return
        with contextlib.suppress(OSError, DataFileError):
            key = self.key(name)
            if self._unchanged(name):
                self.cache.put(name, key, validated)


def _table(folder: Path, spec: Table, keys: _CacheKeys | None, now: pd.Timestamp | None,
           **checks: object) -> tuple[Validated, str | None, bool]:
    """Table ``spec`` validated (from the cache when unchanged), its file name, and
    whether it came from the cache.

    Linked tables (programs, sessions) are stored in the cache once linked, by
    :func:`load`."""
    path = find_table_file(folder, spec.name)
    if path is not None and keys is not None:
        cached = keys.fetch(spec.name, now)
        if cached is not None:
            return cached, path.name, True
    raw = read_table(folder, spec.name, spec.column_names)
    _require_columns(raw, spec)
    validated = validate_table(raw, spec, now=now, **checks)  # type: ignore[arg-type]
    if keys is not None and raw.file is not None and spec.name in ("patients", "pain"):
        keys.store(spec.name, validated)
    return validated, raw.file, False


def _require_columns(raw: RawTable, spec: Table) -> None:
    """A file whose header lacks a required column cannot be used at all."""
    if raw.file is None:
        return
    missing = [c for c in spec.required if c not in raw.header]
    if missing:
        found = ", ".join(raw.header) or "none"
        raise DataFileError(raw.file, "missing required column(s): " + ", ".join(missing)
                            + f" (columns found: {found})")


def _user_aliases(folder: Path, catalog: Catalog, now: pd.Timestamp | None
                  ) -> tuple[dict[str, str], pd.DataFrame, list[dict[str, object]]]:
    raw = read_table(folder, "aliases", ALIASES.column_names)
    if raw.file is None:
        return {}, empty_rejects(), []
    _require_columns(raw, ALIASES)
    checked = validate_table(raw, ALIASES, now=now)
    frame = checked.frame
    ids = as_text(frame["exercise_id"])
    unknown = ~ids.isin(list(catalog.ids()))
    rejects = checked.rejects
    if unknown.any():
        extra = pd.DataFrame({
            "table": "aliases", "file": raw.file, "line": frame.loc[unknown, "line"],
            "column": "exercise_id", "value": ids[unknown],
            "reason": "exercise_id is not in the catalog (see `adherence catalog`)",
            "patient_id": "",
        })
        rejects = pd.concat([rejects, extra.astype(rejects.dtypes.to_dict())], ignore_index=True)
    good = frame[~unknown]
    aliases = dict(zip(good["name"], ids[~unknown], strict=True))
    row = [{"table": "aliases", "file": raw.file, "read": checked.read, "loaded": len(good),
            "rejected": checked.rejected + int(unknown.sum())}]
    return aliases, rejects, row


def _unlinked(linker: Linker, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    parts = [t.loc[t["exercise_id"].isna() & t["exercise"].notna(), ["exercise"]]
             .assign(table=name) for name, t in tables.items()]
    rows = pd.concat(parts, ignore_index=True)
    if rows.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in UNLINKED_COLUMNS})
    grouped = rows.groupby("exercise", sort=False).agg(
        count=("table", "size"), tables=("table", lambda s: ", ".join(sorted(set(s)))))
    grouped = grouped.sort_values("count", ascending=False, kind="stable")
    return pd.DataFrame({
        "name": grouped.index.astype(str),
        "count": grouped["count"].to_numpy(dtype="int64"),
        "tables": grouped["tables"].to_numpy(),
        "suggestions": [linker.suggestions(n) for n in grouped.index],
    })


def _fuzzy(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    parts = [t.loc[t["link_method"] == "fuzzy", ["exercise", "exercise_id", "link_key",
                                                  "link_score"]] for t in tables.values()]
    rows = pd.concat(parts, ignore_index=True)
    if rows.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in FUZZY_COLUMNS})
    grouped = rows.groupby(["exercise", "exercise_id", "link_key", "link_score"],
                           sort=False).size().reset_index(name="count")
    grouped = grouped.sort_values("count", ascending=False, kind="stable")
    return pd.DataFrame({
        "name": grouped["exercise"].astype(str).to_numpy(),
        "count": grouped["count"].to_numpy(dtype="int64"),
        "exercise_id": grouped["exercise_id"].astype(str).to_numpy(),
        "matched": grouped["link_key"].astype(str).to_numpy(),
        "score": grouped["link_score"].to_numpy(dtype="float64"),
    })
