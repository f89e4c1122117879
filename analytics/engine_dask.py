"""The same loading and cohort metrics on a Dask cluster, partitioned by patient.

Nothing is computed twice in two ways: every partition runs the package's own pandas
code (:func:`analytics.validate.validate_table`, :func:`analytics.link.link_frame`,
:func:`analytics.metrics.summary.compute`) on the rows of *its* patients, and the
results are put back together. Only the as-of day is global: it is the last day with
any data in the *whole* data set (see :mod:`analytics.metrics.calendar`), so it is
computed over every partition first and then handed to each one.

Flow, for a data folder (local, or ``s3://...``/``gs://...`` with ``storage_options``):

1. ``dask.dataframe`` reads each table: Parquet row groups on the workers
   (``dd.from_map``; each row keeps its line number, the row number + 1 as for
   :func:`analytics.load`), CSV/xlsx on the client (their line numbers need the whole
   file) and handed over with ``dd.from_pandas``. The small patients table is read and
   validated on the client.
2. Rows are shuffled into ``npartitions`` patient-aligned partitions
   (``set_index`` on a stable hash of the patient id, with fixed divisions), so the
   partitions of every table hold the same patients.
3. Per partition (``to_delayed``): validate and link (duplicates are always of one
   patient, so they stay inside one partition); then the global as-of day; then
   :func:`analytics.metrics.summary.compute` with that day as ``to``.
4. :meth:`DaskRun.summary` gathers only the summary rows;
   :meth:`DaskRun.collect` gathers everything into the same :class:`analytics.Dataset`
   and :class:`analytics.metrics.summary.CohortMetrics` that the pandas engine gives
   (row order and session ids included), e.g. to write reports.

Needs the optional extra ``dask`` (``pip install 'spine-adherence-analytics[dask]'``:
``dask[dataframe]`` and ``distributed``), plus ``s3fs``/``gcsfs`` for object storage.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics.catalog import Catalog, load_catalog
from analytics.dataset import Dataset, _fuzzy, _require_columns, _unlinked, _user_aliases
from analytics.errors import AnalyticsError, DataFileError
from analytics.io import EXTENSIONS, RawTable, _check_header, find_table_file, read_table
from analytics.link import Linker, apply_catalog_defaults, link_frame
from analytics.metrics.calendar import active_programs, as_of_date
from analytics.metrics.summary import CohortMetrics, compute
from analytics.schema import PAIN, PATIENTS, PROGRAMS, SESSIONS, Table
from analytics.settings import DEFAULT_SETTINGS, Settings
from analytics.validate import (
    Validated,
    _Collector,
    _rejects_frame,
    _show,
    empty_rejects,
    validate_table,
)
from analytics.vector import Distinct, map_distinct, sort_frame

#: Rows per partition aimed at when choosing the number of partitions.
ROWS_PER_PARTITION = 1_000_000
#: Tables whose rows are partitioned by patient (patients itself stays on the client).
PARTITIONED: tuple[Table, ...] = (PROGRAMS, SESSIONS, PAIN)
#: Metric tables with a ``session_id`` (numbered over the whole data set).
_SESSION_TABLES = ("rows", "sessions", "dose")


def _require_dask() -> None:
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise AnalyticsError("the Dask engine needs the optional packages dask and "
                             "distributed: pip install 'spine-adherence-analytics[dask]'"
                             ) from exc


def connect(scheduler: str | None = None, *, workers: int | None = None,
            processes: bool = True, threads_per_worker: int = 1) -> Any:
    """A ``distributed.Client``: to the scheduler at ``scheduler``
    (``tcp://host:8786``), else to a new ``distributed.LocalCluster`` of ``workers``
    worker processes (default: one per CPU) with ``threads_per_worker`` threads each,
    listening on 127.0.0.1 only.

    Close it with :func:`close` (which also stops the local cluster).
    """
    _require_dask()
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler)
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, host="127.0.0.1",
                           threads_per_worker=threads_per_worker, processes=processes,
                           dashboard_address="127.0.0.1:0", silence_logs=50)
    client = Client(cluster)
    client._adherence_owns_cluster = cluster  # type: ignore[attr-defined]
    return client


def close(client: Any) -> None:
    """Close ``client`` and the local cluster :func:`connect` started for it, if any."""
    cluster = getattr(client, "_adherence_owns_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


@contextlib.contextmanager
def session(scheduler: str | None = None, **options: Any) -> Iterator[Any]:
    """``with session(scheduler) as client:`` - :func:`connect`, then :func:`close`."""
    client = connect(scheduler, **options)
    try:
        yield client
    finally:
        close(client)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Piece:
    """Row groups of one Parquet file, read by one task."""

    url: str
    storage_options: dict[str, Any] | None
    row_groups: tuple[int, ...]
    first_line: int
    columns: tuple[str, ...]
    missing: tuple[str, ...]


def _is_url(location: str | os.PathLike[str]) -> bool:
    return "://" in str(location)


def _open(url: str, storage_options: dict[str, Any] | None) -> Any:
    if _is_url(url):
        import fsspec

        return fsspec.open(url, "rb", **(storage_options or {})).open()
    return open(url, "rb")  # noqa: SIM115 - closed by the caller


def _read_piece(piece: _Piece) -> pd.DataFrame:
    """The rows of ``piece`` as :func:`analytics.io.read_table` gives them."""
    import pyarrow.parquet as pq

    with _open(piece.url, piece.storage_options) as handle:
        table = pq.ParquetFile(handle).read_row_groups(list(piece.row_groups))
    frame = table.to_pandas().reset_index(drop=True)
    frame.columns = list(piece.columns)
    frame["_line"] = np.arange(piece.first_line, piece.first_line + len(frame), dtype="int64")
    for column in piece.missing:
        frame[column] = pd.Series([None] * len(frame), dtype=object, index=frame.index)
    return frame


@dataclass(frozen=True)
class _Source:
    """Where one table comes from."""

    name: str
    file: str | None
    pieces: tuple[_Piece, ...] = ()
    meta: pd.DataFrame | None = None
    raw: RawTable | None = None
    rows: int = 0

    @property
    def decimal_comma(self) -> bool:
        return self.raw.decimal_comma if self.raw is not None else False


def _parquet_source(url: str, file: str, spec: Table,
                    storage_options: dict[str, Any] | None) -> _Source:
    import pyarrow.parquet as pq

    try:
        with _open(url, storage_options) as handle:
            parquet = pq.ParquetFile(handle)
            metadata = parquet.metadata
            schema = parquet.schema_arrow
    except OSError:
        raise
    except Exception as exc:  # pyarrow raises many types; all mean "unusable file"
        raise DataFileError(file, f"is not a readable Parquet file ({type(exc).__name__})"
                            ) from exc
    meta = schema.empty_table().to_pandas().reset_index(drop=True)
    columns = tuple(_check_header([str(c) for c in meta.columns], file))
    raw = RawTable(spec.name, file, meta, header=columns)
    _require_columns(raw, spec)
    missing = tuple(c for c in spec.column_names if c not in columns)
    pieces, line, group, rows = [], 2, [], 0
    for i in range(metadata.num_row_groups):
        group.append(i)
        rows += metadata.row_group(i).num_rows
        if rows >= ROWS_PER_PARTITION // 2 or i == metadata.num_row_groups - 1:
            pieces.append(_Piece(url, storage_options, tuple(group), line, columns, missing))
            line += rows
            group, rows = [], 0
    meta = _read_piece_meta(meta, columns, missing)
    return _Source(spec.name, file, tuple(pieces), meta, rows=line - 2)


def _read_piece_meta(meta: pd.DataFrame, columns: tuple[str, ...],
                     missing: tuple[str, ...]) -> pd.DataFrame:
    meta = meta.copy()
    meta.columns = list(columns)
    meta["_line"] = pd.Series([], dtype="int64")
    for column in missing:
        meta[column] = pd.Series([], dtype=object)
    return meta


def _source(location: str, spec: Table, storage_options: dict[str, Any] | None) -> _Source:
    """Find and open table ``spec`` at ``location`` (a folder or a URL)."""
    if _is_url(location):
        import fsspec

        fs, root = fsspec.core.url_to_fs(location, **(storage_options or {}))
        found = [ext for ext in EXTENSIONS if fs.exists(f"{root.rstrip('/')}/{spec.name}{ext}")]
        if not found:
            return _Source(spec.name, None, raw=RawTable(spec.name, None, _empty_raw(spec)))
        if len(found) > 1:
            names = ", ".join(spec.name + ext for ext in found)
            raise DataFileError(spec.name + found[0], f"several files hold the {spec.name} "
                                f"table ({names}); keep only one")
        if found[0] != ".parquet":
            raise AnalyticsError(f"{spec.name}{found[0]}: only Parquet tables can be read "
                                 "from object storage (convert it, or copy the folder "
                                 "locally)")
        url = location.rstrip("/") + f"/{spec.name}.parquet"
        return _parquet_source(url, f"{spec.name}.parquet", spec, storage_options)
    folder = Path(location)
    path = find_table_file(folder, spec.name)
    if path is not None and path.suffix == ".parquet":
        return _parquet_source(str(path), path.name, spec, None)
    raw = read_table(folder, spec.name, spec.column_names)
    _require_columns(raw, spec)
    return _Source(spec.name, raw.file, raw=raw, rows=len(raw.frame))


def _empty_raw(spec: Table) -> pd.DataFrame:
    data: dict[str, pd.Series] = {c: pd.Series([], dtype=object) for c in spec.column_names}
    data["_line"] = pd.Series([], dtype="int64")
    return pd.DataFrame(data)


def _client_frame(src: _Source) -> pd.DataFrame:
    """All rows of a (small) table, read on the client."""
    if src.raw is not None:
        return src.raw.frame
    parts = [_read_piece(p) for p in src.pieces]
    return pd.concat(parts, ignore_index=True) if parts else src.meta


# --------------------------------------------------------------------- partitioning


def patient_ids(series: pd.Series) -> pd.Series:
    """Patient ids as :func:`analytics.validate.validate_table` reads them (text,
    stripped; a float id such as ``7.0`` is ``"7"``; blank is missing)."""
    if pd.api.types.is_float_dtype(series):
        return map_distinct(series, lambda v: _show(int(v)) if v == v else None,
                            dtype="string")
    distinct = Distinct(series)
    text = distinct.values.str.strip()
    return distinct.expand(text.mask(text == ""))


def partition_of(ids: pd.Series, npartitions: int) -> np.ndarray:
    """Partition number (0 to ``npartitions - 1``) of each patient id: a stable hash,
    the same in every process; missing ids go to partition 0."""
    text = patient_ids(ids)
    hashed = pd.util.hash_pandas_object(text.fillna(""), index=False).to_numpy()
    part = (hashed % np.uint64(npartitions)).astype("int64")
    part[text.isna().to_numpy()] = 0
    return part


def _with_part(frame: pd.DataFrame, npartitions: int) -> pd.DataFrame:
    return frame.assign(_part=partition_of(frame["patient_id"], npartitions))


def _partitioned(src: _Source, npartitions: int) -> list[Any]:
    """Delayed pandas frames, one per patient partition, of table ``src``."""
    import dask
    import dask.dataframe as dd

    with dask.config.set({"dataframe.convert-string": False,
                          "dataframe.shuffle.method": "tasks"}):
        if src.pieces:
            ddf = dd.from_map(_read_piece, list(src.pieces), meta=src.meta,
                              enforce_metadata=False)
        else:
            frame = src.raw.frame if src.raw is not None else src.meta
            chunks = max(1, math.ceil(len(frame) / ROWS_PER_PARTITION))
            ddf = dd.from_pandas(frame, npartitions=chunks, sort=False)
        meta = ddf._meta.assign(_part=pd.Series([], dtype="int64"))
        ddf = ddf.map_partitions(_with_part, npartitions, meta=meta)
        ddf = ddf.set_index("_part", divisions=list(range(npartitions + 1)))
        return list(ddf.to_delayed())


# ------------------------------------------------------------- per-partition work


def _validate_part(frame: pd.DataFrame, spec: Table, file: str | None, decimal_comma: bool,
                   timezones: dict[str, str], known: frozenset[str] | None,
                   now: pd.Timestamp | None, linker: Linker) -> Validated:
    """Validate (and for programs and sessions link) one partition of a table."""
    frame = frame.reset_index(drop=True)
    frame = frame.iloc[np.argsort(frame["_line"].to_numpy(), kind="stable")]
    raw = RawTable(spec.name, file, frame.reset_index(drop=True), decimal_comma)
    checked = validate_table(raw, spec, timezones=timezones, known_patients=known, now=now)
    if spec.name in ("programs", "sessions"):
        linked = link_frame(checked.frame, linker)
        if spec.name == "programs":
            linked = apply_catalog_defaults(linked, linker.catalog)
        checked = replace(checked, frame=linked)
    return checked


def _last_day(sessions: Validated, pain: Validated) -> pd.Timestamp | None:
    return as_of_date(sessions.frame, pain.frame)


def _latest(*days: pd.Timestamp | None) -> pd.Timestamp | None:
    found = [d for d in days if d is not None]
    return max(found) if found else None


def _partition_dataset(patients: pd.DataFrame, programs: Validated, sessions: Validated,
                       pain: Validated, catalog: Catalog) -> Dataset:
    return Dataset(path=Path("."), patients=patients, programs=programs.frame,
                   sessions=sessions.frame, pain=pain.frame, rejects=empty_rejects(),
                   accounting=pd.DataFrame(), unlinked=pd.DataFrame(),
                   fuzzy=pd.DataFrame(), catalog=catalog)


def _metrics_part(patients: pd.DataFrame, programs: Validated, sessions: Validated,
                  pain: Validated, catalog: Catalog, settings: Settings,
                  start: pd.Timestamp | str | None, as_of: pd.Timestamp | None,
                  keep: list[str] | None) -> tuple[CohortMetrics, pd.Series]:
    """The pandas metrics of one partition, with the program line of each ``active``
    row (to restore the whole data set's row order)."""
    ds = _partition_dataset(patients, programs, sessions, pain, catalog)
    metrics = compute(ds, settings, start=start, to=as_of, patients=keep)
    # The same function, with each program's line as its exercise id, tells which
    # program every ``active`` row comes from (rows come out in the same order).
    tagged = ds.programs.assign(exercise_id=ds.programs["line"].astype("string"))
    if keep is not None:
        tagged = tagged[tagged["patient_id"].isin(list(keep))].reset_index(drop=True)
    lines = active_programs(tagged, metrics.periods)["key"]
    program_line = pd.Series(lines.astype("int64").to_numpy() if len(lines) else [],
                             dtype="int64")
    return metrics, program_line


def _summary_of(result: tuple[CohortMetrics, pd.Series]) -> pd.DataFrame:
    return result[0].summary


def _known_ids(programs: Validated, sessions: Validated, pain: Validated) -> set[str]:
    return (set(programs.frame["patient_id"]) | set(sessions.frame["patient_id"])
            | set(pain.frame["patient_id"]))


# -------------------------------------------------------------------- the run


@dataclass
class DaskRun:
    """Metrics of one data set computed partition by partition on a Dask cluster.

    Build it with :func:`compute_dask`. :meth:`summary` and :meth:`collect` gather
    results from the cluster; the partitions stay there until the run is dropped.
    """

    client: Any
    location: str
    catalog: Catalog
    settings: Settings
    start: pd.Timestamp | None
    as_of: pd.Timestamp | None
    patients: Validated
    patients_file: str | None
    sources: dict[str, _Source]
    validated: dict[str, list[Any]]
    metrics: list[Any]
    parts_patients: list[pd.DataFrame]
    aliases: tuple[pd.DataFrame, list[dict[str, object]]]
    linker: Linker

    def known_patients(self) -> set[str]:
        """Every patient id of the data set (patients table and loaded rows)."""
        import dask

        parts = dask.compute(*[dask.delayed(_known_ids)(p, s, q) for p, s, q in zip(
            self.validated["programs"], self.validated["sessions"], self.validated["pain"],
            strict=True)])
        known = set(self.patients.frame["patient_id"])
        for ids in parts:
            known |= ids
        return known

    def summary(self) -> pd.DataFrame:
        """The cohort summary (:data:`analytics.metrics.summary.SUMMARY_COLUMNS`), equal
        to the pandas engine's; only these rows leave the cluster."""
        import dask

        parts = dask.compute(*[dask.delayed(_summary_of)(m) for m in self.metrics])
        return _combine(list(parts), "patient_id")

    def summary_metrics(self) -> CohortMetrics:
        """A :class:`CohortMetrics` holding the summary (and as-of day, settings, start,
        catalog) with every other table empty: enough for ``adherence summary`` (the
        derived tables cannot be computed from it)."""
        summary = self.summary()
        empty = pd.DataFrame()
        values = {f.name: empty for f in fields(CohortMetrics)
                  if f.name not in ("settings", "as_of", "start", "catalog", "summary")}
        return CohortMetrics(settings=self.settings, as_of=self.as_of, start=self.start,
                             catalog=self.catalog, summary=summary, **values)

    def collect(self) -> tuple[Dataset, CohortMetrics]:
        """The whole :class:`analytics.Dataset` and :class:`CohortMetrics`, equal to what
        :func:`analytics.load` and :func:`analytics.metrics.summary.compute` give."""
        import dask

        validated = {name: list(dask.compute(*parts)) for name, parts in self.validated.items()}
        results = list(dask.compute(*self.metrics))
        return self._dataset(validated), _combine_metrics(results)

    def _dataset(self, validated: dict[str, list[Validated]]) -> Dataset:
        tables: dict[str, pd.DataFrame] = {}
        reject_parts = [] if self.patients.rejects.empty else [self.patients.rejects]
        accounting = [{"table": "patients", "file": self.patients_file or "",
                       "read": self.patients.read, "loaded": len(self.patients.frame),
                       "rejected": self.patients.rejected}]
        for spec in PARTITIONED:
            src, parts = self.sources[spec.name], validated[spec.name]
            frame = _combine([p.frame for p in parts], "line")
            rejects = [p.rejects for p in parts if not p.rejects.empty]
            read = sum(p.read for p in parts)
            if src.raw is not None and src.raw.raw_rejects:
                empty = src.raw.frame.iloc[0:0]
                rejects.append(_rejects_frame(replace(src.raw, frame=empty), _Collector(empty)))
                read += len(src.raw.raw_rejects)
            table_rejects = (sort_frame(pd.concat(rejects, ignore_index=True), ["line"])
                             .reset_index(drop=True) if rejects else empty_rejects())
            if not table_rejects.empty:
                reject_parts.append(table_rejects)
            tables[spec.name] = frame
            accounting.append({"table": spec.name, "file": src.file or "", "read": read,
                               "loaded": len(frame),
                               "rejected": int(table_rejects["line"].nunique())})
        alias_rejects, alias_row = self.aliases
        if not alias_rejects.empty:
            reject_parts.append(alias_rejects)
        rejects = pd.concat(reject_parts, ignore_index=True) if reject_parts else empty_rejects()
        linked = {"programs": tables["programs"], "sessions": tables["sessions"]}
        return Dataset(
            path=Path(self.location) if not _is_url(self.location) else Path("."),
            patients=self.patients.frame, programs=tables["programs"],
            sessions=tables["sessions"], pain=tables["pain"], rejects=rejects,
            accounting=pd.DataFrame(accounting + alias_row),
            unlinked=_unlinked(self.linker, linked), fuzzy=_fuzzy(linked),
            catalog=self.catalog)


def _combine(parts: list[pd.DataFrame], order: str | None) -> pd.DataFrame:
    """Concatenate partition results (empty ones only when all are) and sort them
    stably by ``order``."""
    filled = [p for p in parts if len(p)] or parts[:1]
    if not filled:
        return pd.DataFrame()
    out = pd.concat(filled, ignore_index=True) if len(filled) > 1 else filled[0]
    if order is not None and order in out.columns and len(filled) > 1:
        out = sort_frame(out, [order])
    return out.reset_index(drop=True)


def _combine_metrics(results: list[tuple[CohortMetrics, pd.Series]]) -> CohortMetrics:
    """One :class:`CohortMetrics` from the partitions' (same rows, order and session
    ids as one pandas run over the whole data set)."""
    metrics = [m for m, _ in results]
    renumber = _session_numbers([m.sessions for m in metrics])
    values: dict[str, Any] = {}
    for f in fields(CohortMetrics):
        first = getattr(metrics[0], f.name)
        if not isinstance(first, pd.DataFrame):
            values[f.name] = first
            continue
        parts = [getattr(m, f.name) for m in metrics]
        if f.name in _SESSION_TABLES:
            parts = [_renumbered(p, mapping) for p, mapping in zip(parts, renumber, strict=True)]
        if f.name == "active":
            tagged = [p.assign(_program_line=line.to_numpy()) for p, (_, line) in
                      zip(parts, results, strict=True)]
            values[f.name] = _combine(tagged, "_program_line").drop(columns="_program_line")
        elif f.name == "pain":
            values[f.name] = _combine(parts, "line")
        else:
            values[f.name] = _combine(parts, "patient_id")
    return CohortMetrics(**values)


def _session_numbers(tables: list[pd.DataFrame]) -> list[pd.Series]:
    """Per partition: its session ids -> the ids one run over all data gives (sessions
    numbered by patient, then time)."""
    keyed = [t[["patient_id", "session_id"]].assign(_part=k) for k, t in enumerate(tables)
             if len(t)]
    if not keyed:
        return [pd.Series(dtype="int64") for _ in tables]
    every = sort_frame(pd.concat(keyed, ignore_index=True), ["patient_id", "session_id"])
    every = every.assign(_new=np.arange(len(every), dtype="int64"))
    out = []
    for k in range(len(tables)):
        mine = every[every["_part"] == k]
        out.append(pd.Series(mine["_new"].to_numpy(),
                             index=mine["session_id"].astype("int64").to_numpy()))
    return out


def _renumbered(frame: pd.DataFrame, mapping: pd.Series) -> pd.DataFrame:
    if frame.empty or "session_id" not in frame.columns:
        return frame
    new = mapping.reindex(frame["session_id"].astype("int64").to_numpy()).to_numpy()
    return frame.assign(session_id=new.astype(frame["session_id"].dtype))


def compute_dask(location: str | os.PathLike[str], settings: Settings = DEFAULT_SETTINGS, *,
                 client: Any = None, start: pd.Timestamp | str | None = None,
                 to: pd.Timestamp | str | None = None, patients: list[str] | None = None,
                 npartitions: int | None = None,
                 storage_options: dict[str, Any] | None = None,
                 catalog: Catalog | None = None,
                 now: pd.Timestamp | None = None) -> DaskRun:
    """Load, validate, link and compute every metric of the data at ``location`` on a
    Dask cluster, partitioned by patient.

    Parameters
    ----------
    location : str or path
        A data folder, or a URL of one in object storage (``s3://bucket/cohort``; its
        tables must then be Parquet), read by the workers.
    settings, start, to, patients
        As for :func:`analytics.metrics.summary.compute`; the as-of day is computed over
        the whole data set.
    client : distributed.Client, optional
        Default: the current client (``distributed.get_client()``).
    npartitions : int, optional
        Patient partitions; default: enough for about
        :data:`ROWS_PER_PARTITION` rows each and at least two per worker thread.
    storage_options : dict, optional
        Passed to ``fsspec`` (e.g. ``{"anon": True}`` or credentials) for URLs.
    catalog, now
        As for :func:`analytics.load`.
    """
    _require_dask()
    import dask
    from distributed import get_client

    client = client or get_client()
    location = str(location)
    if not _is_url(location) and not Path(location).is_dir():
        raise DataFileError(location, "no such data folder")
    catalog = catalog or load_catalog()

    patients_src = _source(location, PATIENTS, storage_options)
    patients_raw = RawTable("patients", patients_src.file, _client_frame(patients_src),
                            patients_src.decimal_comma,
                            patients_src.raw.raw_rejects if patients_src.raw else ())
    checked = validate_table(patients_raw, PATIENTS, now=now)
    timezones = dict(zip(checked.frame["patient_id"], checked.frame["timezone"], strict=True))
    known = frozenset(checked.frame["patient_id"]) if patients_src.file else None
    sources = {spec.name: _source(location, spec, storage_options) for spec in PARTITIONED}
    aliases = _aliases(location, catalog, now, storage_options)
    linker = Linker.from_catalog(catalog, aliases[0])

    if npartitions is None:
        threads = sum(client.nthreads().values()) or 1
        rows = sum(s.rows for s in sources.values())
        npartitions = max(2 * threads, math.ceil(rows / ROWS_PER_PARTITION))
    npartitions = max(1, int(npartitions))

    shared = {name: dask.delayed(value, pure=True) for name, value in
              (("tz", timezones), ("known", known), ("linker", linker))}
    validated: dict[str, list[Any]] = {}
    for spec in PARTITIONED:
        src = sources[spec.name]
        validated[spec.name] = [
            dask.delayed(_validate_part, pure=True)(
                part, spec, src.file, src.decimal_comma, shared["tz"], shared["known"], now,
                shared["linker"])
            for part in _partitioned(src, npartitions)]
    persisted = dask.persist(*[v for spec in PARTITIONED for v in validated[spec.name]])
    for i, spec in enumerate(PARTITIONED):
        validated[spec.name] = list(persisted[i * npartitions:(i + 1) * npartitions])

    start_ts = pd.Timestamp(start).normalize() if start is not None else None
    if to is not None:
        as_of = pd.Timestamp(to).normalize()
    else:  # the last day with data in the whole data set, before anything per patient
        days = dask.compute(*[dask.delayed(_last_day)(s, p) for s, p in zip(
            validated["sessions"], validated["pain"], strict=True)])
        as_of = _latest(*days)

    part_of_patient = partition_of(checked.frame["patient_id"], npartitions)
    parts_patients = [checked.frame[part_of_patient == k].reset_index(drop=True)
                      for k in range(npartitions)]
    catalog_d = dask.delayed(catalog, pure=True)
    metrics = [dask.delayed(_metrics_part, pure=True)(
        parts_patients[k], validated["programs"][k], validated["sessions"][k],
        validated["pain"][k], catalog_d, settings, start_ts, as_of, patients)
        for k in range(npartitions)]
    metrics = list(dask.persist(*metrics))
    return DaskRun(client=client, location=location, catalog=catalog, settings=settings,
                   start=start_ts, as_of=as_of, patients=checked,
                   patients_file=patients_src.file, sources=sources, validated=validated,
                   metrics=metrics, parts_patients=parts_patients, aliases=aliases[1:],
                   linker=linker)


def _aliases(location: str, catalog: Catalog, now: pd.Timestamp | None,
             storage_options: dict[str, Any] | None
             ) -> tuple[dict[str, str], pd.DataFrame, list[dict[str, object]]]:
    """The user aliases (a remote ``aliases.csv`` is copied to a temporary folder)."""
    if not _is_url(location):
        return _user_aliases(Path(location), catalog, now)
    import fsspec

    fs, root = fsspec.core.url_to_fs(location, **(storage_options or {}))
    with tempfile.TemporaryDirectory() as tmp:
        for ext in EXTENSIONS:
            remote = f"{root.rstrip('/')}/aliases{ext}"
            if fs.exists(remote):
                fs.get_file(remote, str(Path(tmp) / f"aliases{ext}"))
        return _user_aliases(Path(tmp), catalog, now)
