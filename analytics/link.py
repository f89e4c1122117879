"""Linking the exercise names people type to catalog ids.

Each *distinct* name is linked once (then mapped onto rows), in this order:

1. ``exact``: the normalised name (:func:`analytics.names.normalize_name`) equals a
   normalised catalog id, name or alias, or a name from the data folder's
   ``aliases.csv`` (``name, exercise_id``; a user alias wins over the catalog's);
2. ``plural``: the same after folding plural endings
   (:func:`analytics.names.fold_plurals`), skipping folded keys that would be
   ambiguous - so the catalog can keep "knees to chest" (double) apart from
   "knee to chest" (single);
3. ``fuzzy``: the best whole-name similarity ``rapidfuzz.fuzz.ratio`` (normalised
   Indel similarity, 0-100) to any normalised key, if it is at least
   :data:`FUZZY_THRESHOLD` and the name has at least :data:`FUZZY_MIN_LENGTH`
   characters, and no key of a *different* exercise scores within
   :data:`FUZZY_TIE_MARGIN` of it.

Why ``fuzz.ratio`` at 85: it compares whole strings, so one or two typed letters wrong
in a name still score 85-97 ("kne to chset" -> "knee to chest" 88, "brige" -> "bridge"
91), while different exercises that share a word score far lower ("push up" / "press
up" 67, "shoulder press" / "prone press up" 57, "bench press" 56). Partial or token
scorers such as ``WRatio`` reward shared words and would link "leg press" to "leg and
arm lift" (86) - wrong, so they are only used to *suggest* names for unlinked entries.

Anything else stays loaded but unlinked (``exercise_id`` missing) and is listed in the
unlinked-names table with its count and best suggestions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from rapidfuzz import fuzz, process

from analytics.catalog import Catalog
from analytics.names import fold_plurals, normalize_name

#: Minimum ``fuzz.ratio`` (0-100) for a fuzzy link; see the module docstring.
FUZZY_THRESHOLD: float = 85.0
#: Names shorter than this (normalised) are never fuzzy-linked: in a four-letter name one
#: letter is too much ("plan" would become "plank").
FUZZY_MIN_LENGTH: int = 5
#: A fuzzy match this close to a match of another exercise is ambiguous: not linked.
FUZZY_TIE_MARGIN: float = 1.0
#: Minimum ``fuzz.WRatio`` for a name to be *suggested* for an unlinked entry.
SUGGESTION_MIN_SCORE: float = 60.0

LINK_COLUMNS: tuple[str, ...] = ("exercise_id", "link_method", "link_score", "link_key")


@dataclass(frozen=True)
class Linker:
    """Maps free-text exercise names to catalog ids (see the module docstring).

    Build it with :meth:`from_catalog`.
    """

    catalog: Catalog
    exact: Mapping[str, str]
    folded: Mapping[str, str]
    keys: tuple[str, ...]
    key_ids: tuple[str, ...]

    @classmethod
    def from_catalog(cls, catalog: Catalog,
                     user_aliases: Mapping[str, str] | None = None) -> Linker:
        """A linker over the catalog's ids, names and aliases plus ``user_aliases``
        (``name -> exercise_id``; ids must exist in the catalog)."""
        exact = dict(catalog.name_keys())
        for name, exercise_id in (user_aliases or {}).items():
            key = normalize_name(name)
            if key:
                exact[key] = exercise_id
        folded: dict[str, str] = {}
        ambiguous: set[str] = set(catalog.plural_ambiguous)
        for key, exercise_id in exact.items():
            f = fold_plurals(key)
            if folded.get(f, exercise_id) != exercise_id:
                ambiguous.add(f)
            folded[f] = exercise_id
        for f in ambiguous:
            folded.pop(f, None)
        keys = tuple(exact)
        return cls(catalog, exact, folded, keys, tuple(exact[k] for k in keys))

    def link_name(self, name: object) -> tuple[str | None, str, float | None, str | None]:
        """Link one name: ``(exercise_id, method, score, matched_key)``.

        ``method`` is ``exact``, ``plural``, ``fuzzy``, ``none`` (unlinked) or ``empty``.
        """
        key = normalize_name(name)
        if not key:
            return None, "empty", None, None
        if key in self.exact:
            return self.exact[key], "exact", 100.0, key
        folded = fold_plurals(key)
        if folded in self.folded:
            return self.folded[folded], "plural", 100.0, folded
        if len(key) < FUZZY_MIN_LENGTH:
            return None, "none", None, None
        matches = process.extract(key, self.keys, scorer=fuzz.ratio, limit=8,
                                  score_cutoff=FUZZY_THRESHOLD - FUZZY_TIE_MARGIN)
        if not matches:
            return None, "none", None, None
        best_key, best_score, best_idx = matches[0]
        if best_score < FUZZY_THRESHOLD:
            return None, "none", None, None
        best_id = self.key_ids[best_idx]
        rivals = [m for m in matches[1:] if self.key_ids[m[2]] != best_id
                  and m[1] >= best_score - FUZZY_TIE_MARGIN]
        if rivals:
            return None, "none", None, None
        return best_id, "fuzzy", round(float(best_score), 1), best_key

    def suggestions(self, name: object, limit: int = 3) -> list[dict[str, object]]:
        """Up to ``limit`` catalog entries that ``name`` may mean, best first:
        ``[{"exercise_id", "name", "score"}]`` (score: ``fuzz.WRatio``, 0-100)."""
        key = normalize_name(name)
        if not key:
            return []
        found: list[dict[str, object]] = []
        for _, score, idx in process.extract(key, self.keys, scorer=fuzz.WRatio, limit=30,
                                             score_cutoff=SUGGESTION_MIN_SCORE):
            exercise_id = self.key_ids[idx]
            if any(f["exercise_id"] == exercise_id for f in found):
                continue
            found.append({"exercise_id": exercise_id,
                          "name": self.catalog.get(exercise_id).name,
                          "score": round(float(score), 1)})
            if len(found) == limit:
                break
        return found

    def link_names(self, names: pd.Series) -> pd.DataFrame:
        """Link each distinct value of ``names`` once.

        Returns a frame indexed by the distinct name with columns ``exercise_id``
        (catalog id or missing), ``link_method``, ``link_score`` (0-100) and
        ``link_key`` (the normalised catalog key matched).
        """
        distinct = pd.Index(names.dropna().unique())
        rows = [self.link_name(n) for n in distinct]
        frame = pd.DataFrame(rows, index=distinct, columns=list(LINK_COLUMNS))
        frame["exercise_id"] = frame["exercise_id"].astype("string")
        frame["link_method"] = frame["link_method"].astype("string")
        frame["link_score"] = frame["link_score"].astype("float64")
        frame["link_key"] = frame["link_key"].astype("string")
        return frame


def link_frame(frame: pd.DataFrame, linker: Linker, column: str = "exercise") -> pd.DataFrame:
    """Return ``frame`` with :data:`LINK_COLUMNS` added from ``frame[column]``.

    Each distinct name is linked once; the results are spread back to the rows with
    integer codes (no per-row lookup)."""
    names = frame[column]
    codes, uniques = pd.factorize(names, use_na_sentinel=True)
    table = linker.link_names(pd.Series(uniques, dtype=names.dtype))
    out = frame.copy(deep=False)
    for c in LINK_COLUMNS:
        if len(table):
            values = pd.api.extensions.take(table[c].array, codes, allow_fill=True)
            out[c] = pd.Series(values, index=frame.index, dtype=table[c].dtype)
        else:
            out[c] = pd.Series(pd.NA, index=frame.index, dtype=table[c].dtype)
    return out


def apply_catalog_defaults(programs: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """Fill missing program doses from the linked exercise's default prescription.

    ``sets`` <- the default's sets (else 1); ``reps`` <- its ``reps_max`` (else
    ``reps_min``; a hold-only prescription is 1 rep); ``hold_s`` <- its ``hold_s_min``
    (the lower end of the article's range is the target to reach); ``side`` <- its
    sides (descriptive, not recorded as a dose fallback). Adds ``dose_from_catalog``:
    the filled fields, ``;``-separated (missing when the program gave every field) and
    ``dose_source``: the article the default comes from, or ``program``.
    """
    out = programs.copy()
    filled = pd.Series("", index=out.index, dtype="string")
    linked = out["exercise_id"].notna()
    defaults: dict[str, dict[str, object]] = {}
    for exercise_id in out.loc[linked, "exercise_id"].unique():
        rx = catalog.get(str(exercise_id)).default
        reps = rx.reps_max if rx.reps_max is not None else rx.reps_min
        if reps is None and rx.hold_s_min is not None:
            reps = 1
        defaults[str(exercise_id)] = {
            "sets": rx.sets if rx.sets is not None else 1,
            "reps": reps,
            "hold_s": rx.hold_s_min,
            "side": rx.sides,
            "_source": rx.source_title,
        }
    ids = out["exercise_id"]
    side = ids.map({k: v["side"] for k, v in defaults.items()})
    out["side"] = out["side"].fillna(side.astype("string"))
    for field in ("sets", "reps", "hold_s"):
        fallback = ids.map({k: v[field] for k, v in defaults.items()})
        need = out[field].isna() & fallback.notna()
        if need.any():
            out[field] = out[field].mask(need, fallback.astype(out[field].dtype))
            filled = filled.mask(need, filled + ";" + field)
    source = ids.map({k: v["_source"] for k, v in defaults.items()}).astype("string")
    filled = filled.str.lstrip(";")
    out["dose_from_catalog"] = filled.mask(filled == "")
    out["dose_source"] = source.where(out["dose_from_catalog"].notna(), "program")
    return out
