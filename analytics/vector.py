"""Small vectorised helpers shared by validation, linking and the metrics.

Columns such as patient ids, exercise names, sides or symptom lists hold few distinct
values repeated over millions of rows. Work done once per *distinct* value and then
spread back with integer codes (``pandas.factorize``) costs time in proportion to the
distinct values, not the rows (:func:`map_distinct`, :class:`Distinct`).

Sorting, grouping and joining on several columns, some of them strings, is done here on
integer codes instead (:func:`sort_frame`, :func:`group_ids`, :func:`joint_keys`...).
Each helper gives exactly what the pandas operation named in its docstring gives: same
rows, same order, same values; ``tests/test_scale.py`` compares them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
import pandas as pd

_STRINGS: ContextVar[pd.StringDtype | None] = ContextVar("analytics_strings", default=None)


def string_dtype() -> pd.StringDtype:
    """The dtype of the string columns the metrics make: pandas' ``"string"`` (default
    storage, Arrow when pyarrow is installed), or Python-backed strings inside
    :func:`python_strings`."""
    return _STRINGS.get() or pd.StringDtype()


@contextmanager
def string_storage(storage: str) -> Iterator[None]:
    """Make :func:`string_dtype` use ``storage`` (``"python"`` or ``"pyarrow"``) within
    the block. A context variable (not a pandas option) carries the choice, so other
    threads and tasks are unaffected."""
    token = _STRINGS.set(pd.StringDtype(storage))
    try:
        yield
    finally:
        _STRINGS.reset(token)


def python_strings() -> AbstractContextManager[None]:
    """Make :func:`string_dtype` Python-backed within the block.

    On small tables each operation on Arrow-backed strings costs about 0.1 ms more than
    on Python-backed ones, which dominates a one-patient computation.
    """
    return string_storage("python")


def with_string_storage(frame: pd.DataFrame, storage: str) -> pd.DataFrame:
    """``frame`` with every ``"string"``/``"str"`` column held in ``storage``
    (``"python"`` or ``"pyarrow"``); values, missing-value kind and order unchanged."""
    changed = {c: pd.StringDtype(storage, na_value=t.na_value) for c, t in frame.dtypes.items()
               if isinstance(t, pd.StringDtype) and t.storage != storage}
    return frame.astype(changed) if changed else frame


def map_distinct(series: pd.Series, func: Callable[[Any], Any],
                 dtype: str | None = None) -> pd.Series:
    """``series.map(func)`` computed once per distinct value.

    Values equal under ``==`` are one value (as for any hash lookup: use it on columns
    of one type, such as strings or floats). The first missing value of the column
    stands for all of them and is passed to ``func`` once.

    Parameters
    ----------
    series : pandas.Series
        Any values.
    func : callable
        Applied to each distinct value.
    dtype : str, optional
        dtype of the result (default: inferred from the results).
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    values = [func(u) for u in uniques]
    has_na = bool((codes < 0).any())
    if has_na:
        na_value = series[codes < 0].iloc[0]
        values.append(func(na_value))
        codes = np.where(codes < 0, len(values) - 1, codes)
    mapped = pd.Series(values, dtype=dtype) if values else pd.Series([], dtype=dtype or object)
    out = mapped.take(codes) if len(codes) else mapped.iloc[0:0]
    return pd.Series(out.to_numpy(), index=series.index, dtype=out.dtype, name=series.name)


class Distinct:
    """The distinct values of a column as text, and how to spread results back.

    ``Distinct(series)`` converts ``series`` to the pandas ``string`` dtype (cell by
    cell, exactly as ``series.astype("string")``) and factorises it. ``values`` is a
    ``string`` Series of the distinct cells (missing last, when any); an element-wise
    computation on ``values`` is spread back to one result per row by :meth:`expand`.
    Small or mostly-unique columns are not factorised (``values`` is then the whole
    column and :meth:`expand` only restores the index): the result is the same either
    way.
    """

    #: Columns shorter than this are computed row by row (factorising does not pay).
    MIN_ROWS = 2048

    def __init__(self, series: pd.Series) -> None:
        text = series.astype("string")
        self.index = series.index
        self.codes: np.ndarray | None = None
        if len(text) >= self.MIN_ROWS:
            codes, uniques = pd.factorize(text, use_na_sentinel=True)
            if len(uniques) * 4 <= len(text):
                values = pd.Series(uniques, dtype="string")
                missing = codes < 0
                if missing.any():
                    values = pd.concat([values, pd.Series([pd.NA], dtype="string")],
                                       ignore_index=True)
                    codes = np.where(missing, len(values) - 1, codes)
                self.codes = codes
                self.values = values
                return
        self.values = text.reset_index(drop=True)

    def expand(self, result: pd.Series) -> pd.Series:
        """One value per row of the original column, with its index."""
        if self.codes is None:
            return result.set_axis(self.index)
        return result.iloc[self.codes].set_axis(self.index)


def _sort_key(values: pd.Series, ascending: bool) -> np.ndarray:
    """A numeric array that orders like ``values`` (missing last either way)."""
    if isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == object or (
            pd.api.types.is_string_dtype(values.dtype)
            and not pd.api.types.is_numeric_dtype(values.dtype)):
        codes, _ = pd.factorize(values, sort=True, use_na_sentinel=True)
        key = codes.astype("float64")
        key[codes < 0] = np.nan
    elif pd.api.types.is_datetime64_any_dtype(values.dtype):
        raw = values.to_numpy(dtype="datetime64[ns]") if getattr(values.dt, "tz", None) is None \
            else values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(
                dtype="datetime64[ns]")
        ints = raw.view("int64")
        if not np.isnat(raw).any():
            return ints if ascending else -ints
        codes, _ = pd.factorize(ints, sort=True)
        key = codes.astype("float64")
        key[np.isnat(raw)] = np.nan
    else:
        key = values.to_numpy(dtype="float64", na_value=np.nan)
    key = key if ascending else -key
    if np.isnan(key).any():
        key = np.where(np.isnan(key), np.inf, key)
    return key


def sort_order(frame: pd.DataFrame, by: list[str],
               ascending: bool | list[bool] = True) -> np.ndarray:
    """Positions that sort ``frame`` like ``frame.sort_values(by, ascending=...,
    kind="stable", na_position="last")``, computed with :func:`numpy.lexsort` on
    numeric keys (string columns become sorted integer codes)."""
    flags = [ascending] * len(by) if isinstance(ascending, bool) else list(ascending)
    keys = [_sort_key(frame[c], a) for c, a in zip(by, flags, strict=True)]
    if not keys or _in_order(keys):
        return np.arange(len(frame))
    return np.lexsort(keys[::-1])


def sorted_runs(frame: pd.DataFrame, by: list[str], ascending: bool | list[bool],
                n_group: int) -> tuple[np.ndarray, np.ndarray]:
    """``(order, first)``: :func:`sort_order` of ``frame``, and a mask over the sorted
    rows marking the first row of each run of equal values in the first ``n_group``
    columns of ``by`` (missing equal to missing): ``~sorted.duplicated(by[:n_group])``."""
    flags = [ascending] * len(by) if isinstance(ascending, bool) else list(ascending)
    keys = [_sort_key(frame[c], a) for c, a in zip(by, flags, strict=True)]
    order = np.arange(len(frame)) if not keys or _in_order(keys) else np.lexsort(keys[::-1])
    first = np.zeros(len(order), dtype=bool)
    if len(order):
        first[0] = True
        for key in keys[:n_group]:
            ordered = key[order]
            first[1:] |= ordered[1:] != ordered[:-1]
    return order, first


def _in_order(keys: list[np.ndarray]) -> bool:
    """Whether rows are already in (lexicographic, non-decreasing) key order: one pass,
    cheaper than sorting, and common (files are often written in order)."""
    if len(keys[0]) < 2:
        return True
    tied = np.ones(len(keys[0]) - 1, dtype=bool)
    for key in keys:
        before, after = key[:-1], key[1:]
        if (tied & (after < before)).any():
            return False
        tied &= after == before
        if not tied.any():
            return True
    return True


def sort_frame(frame: pd.DataFrame, by: list[str],
               ascending: bool | list[bool] = True) -> pd.DataFrame:
    """``frame.sort_values(by, ascending=..., kind="stable", na_position="last")``
    (a frame already in order is not copied)."""
    order = sort_order(frame, by, ascending)
    if len(order) and (order[1:] > order[:-1]).all() and order[0] == 0:
        return frame.copy(deep=False)
    return frame.take(order)


def first_of_runs(frame: pd.DataFrame, by: list[str]) -> np.ndarray:
    """Mask of the rows whose ``by`` values differ from the previous row's (missing
    values equal to each other): on a frame sorted by ``by`` these are the first rows
    of each group, i.e. ``~frame.duplicated(by, keep="first")``."""
    n = len(frame)
    start = np.zeros(n, dtype=bool)
    if n == 0:
        return start
    start[0] = True
    for c in by:
        key = _sort_key(frame[c], True)
        start[1:] |= key[1:] != key[:-1]
    return start


def group_ids(frame: pd.DataFrame, by: list[str]) -> tuple[np.ndarray, int]:
    """Integer group numbers of ``frame.groupby(by, sort=False)``: groups numbered in
    order of first appearance, rows with a missing key get -1 (pandas drops them).

    Returns ``(ids, n_groups)``.
    """
    n = len(frame)
    combined = np.zeros(n, dtype="int64")
    missing = np.zeros(n, dtype=bool)
    size = 1
    for c in by:
        codes, uniques = pd.factorize(frame[c], use_na_sentinel=True)
        missing |= codes < 0
        width = len(uniques) + 1
        if size * width >= 2 ** 62:
            combined = pd.factorize(combined)[0].astype("int64")
            size = int(combined.max()) + 1 if n else 1
        combined = combined * width + codes + 1
        size *= width
        del codes, uniques  # not kept alive while the next column is factorised
    combined[missing] = -1
    ids, uniques = pd.factorize(combined)
    n_groups = len(uniques)
    del combined, uniques
    ids = ids.astype("int64", copy=False)
    if missing.any():
        # -1 became a group of its own: drop it and renumber the others (in place).
        dropped = int(ids[missing][0])
        np.subtract(ids, 1, out=ids, where=ids > dropped)
        ids[missing] = -1
        return ids, n_groups - 1
    return ids, n_groups


def first_positions(ids: np.ndarray, n_groups: int) -> np.ndarray:
    """Position of the first row of each group (``ids`` from :func:`group_ids`)."""
    first = np.full(n_groups, -1, dtype="int64")
    kept = np.flatnonzero(ids >= 0)
    # Reversed assignment keeps the earliest position for each group.
    first[ids[kept][::-1]] = kept[::-1]
    return first


def joint_keys(left: pd.DataFrame, right: pd.DataFrame, left_on: list[str],
               right_on: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """int64 keys for looking rows of ``left`` up in ``right``: a left row's key equals a
    right row's key exactly when their ``left_on`` / ``right_on`` values are equal (a
    missing value equals a missing value, as in :meth:`pandas.DataFrame.merge`). Right
    keys are equal exactly when the right rows' values are; left rows whose values are
    not in ``right`` get keys no right row has (they may share them).

    Each column of both sides is factorised once and the distinct left values are looked
    up in the distinct right values (no concatenation, no per-row lookup).
    """
    left_key = np.zeros(len(left), dtype="int64")
    right_key = np.zeros(len(right), dtype="int64")
    size = 1
    for lc, rc in zip(left_on, right_on, strict=True):
        codes, uniques = pd.factorize(right[rc], use_na_sentinel=False)
        # Look up each distinct left value once.
        left_codes, left_uniques = pd.factorize(left[lc], use_na_sentinel=False)
        if len(uniques) and len(left_uniques):
            found = pd.Index(uniques).get_indexer(pd.Index(left_uniques))[left_codes]
        else:
            found = np.full(len(left), -1)
        width = len(uniques) + 1  # 0 is "not in right"
        if size * width >= 2 ** 62:
            joint, inverse = np.unique(np.concatenate([right_key, left_key]),
                                       return_inverse=True)
            right_key, left_key = inverse[:len(right)], inverse[len(right):]
            size = len(joint)
        right_key = right_key * width + codes + 1
        left_key = left_key * width + found + 1
        size *= width
        # Not kept alive while the next columns are factorised.
        del codes, uniques, left_codes, left_uniques, found
    return left_key, right_key


def sorted_group_ids(frame: pd.DataFrame, by: list[str]) -> tuple[np.ndarray, int]:
    """Integer group numbers of ``frame.groupby(by, sort=True)``: groups numbered in
    the order of their sorted keys; rows with a missing key get -1.

    Returns ``(ids, n_groups)``.
    """
    n = len(frame)
    combined = np.zeros(n, dtype="int64")
    missing = np.zeros(n, dtype=bool)
    for c in by:
        codes, uniques = pd.factorize(frame[c], sort=True, use_na_sentinel=True)
        missing |= codes < 0
        width = len(uniques) + 1
        if int(combined.max(initial=0)) * width >= 2 ** 62:
            combined = _dense_ranks(combined)[0]
        combined = combined * width + codes + 1
        del codes, uniques  # not kept alive while the next column is factorised
    if missing.all():
        return np.full(n, -1, dtype="int64"), 0
    if not missing.any():
        return _dense_ranks(combined)
    valid = combined[~missing]
    del combined
    ids, n_groups = _dense_ranks(valid)
    del valid
    out = np.full(n, -1, dtype="int64")
    out[~missing] = ids
    return out, n_groups


def _dense_ranks(values: np.ndarray) -> tuple[np.ndarray, int]:
    """``(inverse, len(uniques))`` of ``uniques, inverse = numpy.unique(values,
    return_inverse=True)`` for a non-empty 1-d array of non-negative int64 ``values``:
    each value's rank among the distinct values (int64).

    Same result with fewer full-length temporaries than :func:`numpy.unique` (which
    also copies the input and keeps the sorted copy): a presence table when the
    values are below ``len(values)``, else one argsort.
    """
    n = len(values)
    top = int(values.max())
    if top < n:
        present = np.zeros(top + 1, dtype=bool)
        present[values] = True
        rank = np.cumsum(present, dtype="int64")
        del present
        rank -= 1
        return rank[values], int(rank[-1]) + 1
    perm = np.argsort(values)  # any order of equal values: they get one rank
    ordered = values[perm]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    del ordered
    rank = np.cumsum(new, dtype="int64")
    del new
    n_groups = int(rank[-1])
    rank -= 1
    out = np.empty(n, dtype="int64")
    out[perm] = rank
    return out, n_groups


def named_agg(grouped: Any, **spec: tuple[str, str]) -> pd.DataFrame:
    """``grouped.agg(**spec)`` for named aggregations given as ``(column, "func")``.

    Each aggregation runs on its own column and the results are put side by side:
    the same frame as pandas' named aggregation, without its general-purpose set-up
    (about 4x faster on the small per-patient tables of the dashboard).

    Parameters
    ----------
    grouped : pandas.core.groupby.DataFrameGroupBy
        A grouping with ``as_index=True``.
    **spec : tuple of (str, str)
        Output column -> (input column, name of a ``SeriesGroupBy`` reduction such as
        ``"sum"``, ``"mean"``, ``"size"``, ``"first"``, ``"nunique"``).

    Examples
    --------
    >>> df = pd.DataFrame({"k": ["a", "a", "b"], "x": [1.0, 3.0, 5.0]})
    >>> named_agg(df.groupby("k"), mean=("x", "mean"), n=("x", "size")).reset_index()
       k  mean  n
    0  a   2.0  2
    1  b   5.0  1
    """
    columns = {name: getattr(grouped[column], func)() for name, (column, func) in spec.items()}
    return pd.DataFrame(columns)


def run_lengths(flag: np.ndarray, new_group: np.ndarray) -> np.ndarray:
    """1-based position of each row in its run of consecutive True ``flag`` values (0
    where ``flag`` is False); a run also breaks where ``new_group`` is True.

    >>> run_lengths(np.array([1, 1, 0, 1, 1, 1], bool), np.array([1, 0, 0, 0, 1, 0], bool))
    array([1, 2, 0, 1, 1, 2])
    """
    position = np.arange(len(flag))
    # The row before each run's first row: a False row itself, or the row before a
    # group's first row.
    reset = np.where(~flag, position, np.where(new_group, position - 1, -1))
    before = np.maximum.accumulate(reset) if len(reset) else reset
    return np.where(flag, position - before, 0)


def true_runs(flag: np.ndarray, new_group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last positions of each run of consecutive True ``flag`` values; a run
    also breaks where ``new_group`` is True.

    >>> true_runs(np.array([1, 1, 0, 1, 1, 1], bool), np.array([1, 0, 0, 0, 1, 0], bool))
    (array([0, 3, 4]), array([1, 3, 5]))
    """
    flag = np.asarray(flag, dtype=bool)
    new_group = np.asarray(new_group, dtype=bool)
    before = np.concatenate([[False], flag[:-1]]) if len(flag) else flag
    after = np.concatenate([flag[1:], [False]]) if len(flag) else flag
    next_new = np.concatenate([new_group[1:], [True]]) if len(flag) else flag
    starts = flag & (new_group | ~before)
    ends = flag & (next_new | ~after)
    return np.flatnonzero(starts), np.flatnonzero(ends)

