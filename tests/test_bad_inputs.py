"""Every malformed input of the catalogue (tests/bad_inputs.py) has its expected
outcome: a clear whole-file error naming the file, or rows loaded/rejected with a
named reason - never a traceback, never a lost row."""

from __future__ import annotations

import pytest
from bad_inputs import CASES, Case
from conftest import NOW

from analytics import DataFileError, load


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_bad_input(make_folder, case: Case):
    folder = make_folder({f"{case.table}.csv": case.content})
    if case.error is not None:
        with pytest.raises(DataFileError, match=case.error) as info:
            load(folder, now=NOW)
        assert info.value.file == f"{case.table}.csv"
        return
    ds = load(folder, now=NOW)
    acc = ds.accounting.set_index("table").loc[case.table]
    assert acc["read"] == acc["loaded"] + acc["rejected"]
    assert acc["loaded"] == case.loaded
    mine = ds.rejects[ds.rejects["table"] == case.table]
    got = list(zip(mine["line"], mine["column"], mine["reason"], strict=True))
    assert len(got) == len(case.rejects), got
    for (line, column, reason), (g_line, g_column, g_reason) in zip(case.rejects, got,
                                                                   strict=True):
        assert (g_line, g_column) == (line, column), got
        assert reason in g_reason, got
    if case.check is not None:
        case.check(ds)


def test_catalogue_is_large_enough():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
