"""What ``adherence validate`` prints: a dataset's accounting, rejects and links, as
plain text for people or as a JSON-ready dict for programs."""

from __future__ import annotations

from typing import Any

from analytics.dataset import Dataset
from analytics.textfmt import fixed_width


def exit_status(ds: Dataset) -> int:
    """0 when every row loaded and every name linked, else 1."""
    return 0 if ds.clean else 1


def validation_json(ds: Dataset) -> dict[str, Any]:
    """``{"tables": {TABLE: {"read","loaded","rejected"}}, "rejects": [...],
    "unlinked": [...], "fuzzy": [...]}`` as documented for ``adherence validate --json``."""
    tables = {
        r.table: {"file": r.file or None, "read": int(r.read), "loaded": int(r.loaded),
                  "rejected": int(r.rejected)}
        for r in ds.accounting.itertuples(index=False)
    }
    rejects = [
        {"table": r.table, "file": r.file, "line": int(r.line), "column": r.column,
         "value": r.value, "reason": r.reason}
        for r in ds.rejects.itertuples(index=False)
    ]
    unlinked = [
        {"name": r.name, "count": int(r.count), "tables": r.tables,
         "suggestions": list(r.suggestions)}
        for r in ds.unlinked.itertuples(index=False)
    ]
    fuzzy = [
        {"name": r.name, "count": int(r.count), "exercise_id": r.exercise_id,
         "matched": r.matched, "score": float(r.score)}
        for r in ds.fuzzy.itertuples(index=False)
    ]
    return {"tables": tables, "rejects": rejects, "unlinked": unlinked, "fuzzy": fuzzy}


def validation_text(ds: Dataset, limit: int = 50) -> str:
    """A readable summary; at most ``limit`` rejects and unlinked names are listed."""
    out = [f"Data folder: {ds.path}", ""]
    acc = ds.accounting.assign(file=ds.accounting["file"].replace("", "(absent)"))
    out += [fixed_width(acc), ""]
    if ds.rejects.empty:
        out.append("Rejected rows: none.")
    else:
        n_rows = ds.rejects.groupby("file")["line"].nunique().sum()
        out.append(f"Rejected rows: {n_rows} ({len(ds.rejects)} problems)")
        for r in ds.rejects.head(limit).itertuples(index=False):
            where = f"{r.file} line {r.line}"
            column = "" if r.column == "(row)" else f", column {r.column}"
            value = f" {r.value!r}" if r.value else ""
            out.append(f"  {where}{column}:{value} {r.reason}")
        if len(ds.rejects) > limit:
            out.append(f"  ... and {len(ds.rejects) - limit} more (use --json to see all)")
    out.append("")
    if ds.unlinked.empty:
        out.append("Unlinked exercise names: none.")
    else:
        out.append(f"Unlinked exercise names: {len(ds.unlinked)} (rows kept, not counted "
                   "as a catalog exercise)")
        for r in ds.unlinked.head(limit).itertuples(index=False):
            hint = ", ".join(f"{s['name']} ({s['exercise_id']})" for s in r.suggestions)
            hint = f" - did you mean: {hint}?" if hint else " - no similar catalog name"
            out.append(f"  {r.name!r} x{r.count} in {r.tables}{hint}")
        out.append("  To link a name, add it to aliases.csv (columns: name, exercise_id) "
                   "in the data folder.")
    if not ds.fuzzy.empty:
        out += ["", f"Names linked by fuzzy matching: {len(ds.fuzzy)} (check they are right)"]
        for r in ds.fuzzy.head(limit).itertuples(index=False):
            out.append(f"  {r.name!r} -> {r.exercise_id} (like {r.matched!r}, score "
                       f"{r.score:.0f}) x{r.count}")
    out += ["", "Result: all rows loaded and all names linked." if ds.clean else
            "Result: some rows were rejected or names are unlinked (see above)."]
    return "\n".join(out)
