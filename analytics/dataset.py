"""``analytics.load``: read, validate and link a whole data folder into one dataset.

Flow: :mod:`analytics.io` (files) -> :mod:`analytics.validate` (values) ->
:mod:`analytics.link` (names -> catalog ids). Whole-file problems raise
:class:`analytics.errors.DataFileError`; row problems become rejects; nothing is lost:
for every table ``read == loaded + rejected``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analytics.catalog import Catalog, load_catalog
from analytics.errors import DataFileError
from analytics.io import RawTable, read_table
from analytics.link import Linker, apply_catalog_defaults, link_frame
from analytics.schema import PAIN, PATIENTS, PROGRAMS, SESSIONS, Column, Table
from analytics.validate import as_text, empty_rejects, validate_table

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
    def clean(self) -> bool:
        """True when every row loaded and every name linked."""
        return self.rejects.empty and self.unlinked.empty


def load(path: str | Path, *, catalog: Catalog | None = None,
         now: pd.Timestamp | None = None) -> Dataset:
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

    Raises
    ------
    DataFileError
        When the folder or a whole file cannot be used.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataFileError(str(folder), "no such data folder")
    catalog = catalog or load_catalog()

    raw_patients = read_table(folder, "patients", PATIENTS.column_names)
    _require_columns(raw_patients, PATIENTS)
    patients = validate_table(raw_patients, PATIENTS, now=now)
    timezones = dict(zip(patients.frame["patient_id"], patients.frame["timezone"], strict=True))
    known = frozenset(patients.frame["patient_id"]) if raw_patients.file else None

    results = {"patients": (raw_patients.file, patients)}
    for spec in (PROGRAMS, SESSIONS, PAIN):
        raw = read_table(folder, spec.name, spec.column_names)
        _require_columns(raw, spec)
        results[spec.name] = (raw.file, validate_table(raw, spec, timezones=timezones,
                                                        known_patients=known, now=now))

    user_aliases, alias_rejects, alias_row = _user_aliases(folder, catalog, now)
    linker = Linker.from_catalog(catalog, user_aliases)
    programs = apply_catalog_defaults(link_frame(results["programs"][1].frame, linker), catalog)
    sessions = link_frame(results["sessions"][1].frame, linker)

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
