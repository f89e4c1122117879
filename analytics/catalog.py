"""The exercise catalog: every exercise the five source articles describe, with their doses.

The catalog lives in ``analytics/data/catalog.yaml`` (shipped inside the package) and is
read by :func:`load_catalog`, which validates the whole file and reports *every* problem at
once in one :class:`CatalogError`. The result is an immutable :class:`Catalog` of
:class:`Exercise` entries; each exercise has one :class:`Prescription` per article that
describes it (numbers exactly as the article gives them, ``None`` where it is silent), a
``default`` prescription and the :class:`Caution` s that apply.

Names people type are matched through two key levels (see :mod:`analytics.names`):
:meth:`Catalog.name_keys` (``normalize_name`` of each id, name and alias; must be unique
across entries) and :meth:`Catalog.folded_keys` (plural endings folded too; keys shared by
several entries, such as "knee to chest" vs "knees to chest", are recorded in
:attr:`Catalog.plural_ambiguous` and left out).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml

from analytics.errors import AnalyticsError
from analytics.names import fold_plurals, normalize_name

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CAUTION_KINDS",
    "KINDS",
    "POSITIONS",
    "REGIONS",
    "SIDES",
    "Catalog",
    "CatalogError",
    "Caution",
    "Exercise",
    "Prescription",
    "Source",
    "format_dose",
    "format_table",
    "load_catalog",
]

#: Body regions an exercise may target.
REGIONS: tuple[str, ...] = ("lower_back", "core", "hips_legs", "neck_upper_back")
#: What an exercise mainly does.
KINDS: tuple[str, ...] = ("stretch", "strength", "mobility")
#: Starting positions.
POSITIONS: tuple[str, ...] = (
    "supine", "prone", "side_lying", "quadruped", "standing", "seated", "bench", "plank",
)
#: ``each_side``: done on each side in turn; ``both``: not sided / both sides together.
SIDES: tuple[str, ...] = ("each_side", "both")
#: Kinds of caution.
CAUTION_KINDS: tuple[str, ...] = (
    "timing", "stop_and_contact", "urgent", "form", "approval", "general",
)

_ID_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_PACKAGE = "analytics"
_RESOURCE = ("data", "catalog.yaml")

_TOP_KEYS = {"version": True, "sources": True, "cautions": False, "exercises": True}
_SOURCE_KEYS = {"id": True, "title": True, "author": True, "seed_file": True, "cautions": True}
_CAUTION_KEYS = {"id": True, "text": True, "kind": True}
_EXERCISE_KEYS = {
    "id": True, "name": True, "aliases": True, "region": True, "kind": True,
    "position": True, "summary": True, "prescriptions": True, "default": True,
    "cautions": True,
}
_PRESCRIPTION_KEYS = {
    "source": True, "hold_s_min": False, "hold_s_max": False, "reps_min": False,
    "reps_max": False, "sets": False, "rest_s_min": False, "rest_s_max": False,
    "rest": False, "sides": False, "times_per_day": False, "quote": True, "note": False,
}
#: Prescription fields holding seconds (any number >= 0).
_SECONDS_FIELDS = ("hold_s_min", "hold_s_max", "rest_s_min", "rest_s_max")
#: Prescription fields holding counts (whole numbers >= 1).
_COUNT_FIELDS = ("reps_min", "reps_max", "sets", "times_per_day")
_RANGES = (("hold_s_min", "hold_s_max"), ("reps_min", "reps_max"), ("rest_s_min", "rest_s_max"))


class CatalogError(AnalyticsError, ValueError):
    """The catalog file cannot be used; the message names the file, each entry and problem.

    Attributes
    ----------
    path : str
        The catalog file.
    problems : tuple of str
        One line per problem, each starting with the entry it concerns.
    """

    def __init__(self, path: str, problems: Iterable[str]) -> None:
        self.path = path
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        n = len(self.problems)
        super().__init__(f"{path}: {n} problem{'s' if n != 1 else ''} in the catalog:\n{lines}")


@dataclass(frozen=True)
class Caution:
    """A caution from one article: article-wide, or about one exercise."""

    id: str
    text: str
    kind: str
    source_id: str


@dataclass(frozen=True)
class Source:
    """One source article."""

    id: str
    title: str
    author: str | None
    seed_file: str
    cautions: tuple[Caution, ...]


@dataclass(frozen=True)
class Prescription:
    """The dose one article gives for one exercise (``None`` where the article is silent).

    Seconds (``hold_s_*``, ``rest_s_*``) are floats; counts are ints. ``rest`` is the
    article's own words about rest, ``quote`` a verbatim excerpt backing the numbers and
    ``note`` any interpretation made while reading it.
    """

    source_id: str
    source_title: str
    hold_s_min: float | None
    hold_s_max: float | None
    reps_min: int | None
    reps_max: int | None
    sets: int | None
    rest_s_min: float | None
    rest_s_max: float | None
    rest: str | None
    sides: str | None
    times_per_day: int | None
    quote: str
    note: str | None

    @property
    def hold_s_target(self) -> float | None:
        """The hold to aim for: the lower end of the article's range, or ``None``."""
        return self.hold_s_min

    @property
    def dose_values(self) -> tuple[float | int | None, ...]:
        """The numeric dose fields, in a fixed order (used to rank prescriptions)."""
        return (
            self.hold_s_min, self.hold_s_max, self.reps_min, self.reps_max, self.sets,
            self.rest_s_min, self.rest_s_max, self.times_per_day,
        )

    @property
    def has_dose(self) -> bool:
        """Whether the article gives at least one number (hold, reps, sets, rest, per day)."""
        return any(v is not None for v in self.dose_values)

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict; ``source`` is the article title, ``source_id`` its id."""
        return {
            "source": self.source_title,
            "source_id": self.source_id,
            "hold_s_min": self.hold_s_min,
            "hold_s_max": self.hold_s_max,
            "reps_min": self.reps_min,
            "reps_max": self.reps_max,
            "sets": self.sets,
            "rest_s_min": self.rest_s_min,
            "rest_s_max": self.rest_s_max,
            "rest": self.rest,
            "sides": self.sides,
            "times_per_day": self.times_per_day,
            "quote": self.quote,
            "note": self.note,
        }


@dataclass(frozen=True)
class Exercise:
    """One catalog entry: an exercise, its names, its prescriptions and its cautions."""

    id: str
    name: str
    aliases: tuple[str, ...]
    region: str
    kind: str
    position: str
    summary: str
    prescriptions: tuple[Prescription, ...]
    default: Prescription
    cautions: tuple[Caution, ...]

    @property
    def source_ids(self) -> tuple[str, ...]:
        """Ids of the articles that describe this exercise."""
        return tuple(p.source_id for p in self.prescriptions)

    def prescription(self, source_id: str) -> Prescription:
        """The prescription from the article ``source_id`` (``KeyError`` if none)."""
        for p in self.prescriptions:
            if p.source_id == source_id:
                return p
        raise KeyError(
            f"exercise {self.id!r} has no prescription from source {source_id!r} "
            f"(sources: {', '.join(self.source_ids)})"
        )

    def names(self) -> tuple[str, ...]:
        """The id, the name and every alias."""
        return (self.id, self.name, *self.aliases)

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict of the entry (see :meth:`Catalog.to_records`)."""
        return {
            "id": self.id,
            "name": self.name,
            "aliases": list(self.aliases),
            "region": self.region,
            "kind": self.kind,
            "position": self.position,
            "summary": self.summary,
            "default_source": self.default.source_id,
            "cautions": [
                {"id": c.id, "text": c.text, "kind": c.kind, "source": c.source_id}
                for c in self.cautions
            ],
            "prescriptions": [p.to_record() for p in self.prescriptions],
        }


def _key_maps(
    exercises: Iterable[Exercise],
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Normalised keys and plural-folded keys, each mapped to the ids that use them."""
    normal: dict[str, set[str]] = {}
    folded: dict[str, set[str]] = {}
    for ex in exercises:
        for name in ex.names():
            key = normalize_name(name)
            if not key:
                continue
            normal.setdefault(key, set()).add(ex.id)
            folded.setdefault(fold_plurals(key), set()).add(ex.id)
    return normal, folded


@dataclass(frozen=True)
class Catalog:
    """The immutable exercise catalog.

    Iterating gives the exercises in file order; ``"bridge" in catalog`` tests an id.
    """

    exercises: tuple[Exercise, ...]
    sources: tuple[Source, ...]
    plural_ambiguous: frozenset[str]
    _by_id: Mapping[str, Exercise] = field(init=False, repr=False, compare=False, hash=False)
    _name_keys: Mapping[str, str] = field(init=False, repr=False, compare=False, hash=False)
    _folded_keys: Mapping[str, str] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        normal, folded = _key_maps(self.exercises)
        by_id = MappingProxyType({ex.id: ex for ex in self.exercises})
        names = MappingProxyType({k: next(iter(ids)) for k, ids in normal.items() if len(ids) == 1})
        folds = MappingProxyType({
            k: next(iter(ids))
            for k, ids in folded.items()
            if len(ids) == 1 and k not in self.plural_ambiguous
        })
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_name_keys", names)
        object.__setattr__(self, "_folded_keys", folds)

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from the fields (the lookup maps are read-only proxies, which pickle
        # and deepcopy cannot copy): metrics holding a catalog go to worker processes.
        return (Catalog, (self.exercises, self.sources, self.plural_ambiguous))

    def get(self, exercise_id: str) -> Exercise:
        """The exercise with this id; ``KeyError`` naming the id if there is none."""
        try:
            return self._by_id[exercise_id]
        except KeyError:
            raise KeyError(
                f"no exercise {exercise_id!r} in the catalog "
                f"({len(self)} exercises; see `adherence catalog`)"
            ) from None

    def __contains__(self, exercise_id: object) -> bool:
        return isinstance(exercise_id, str) and exercise_id in self._by_id

    def __iter__(self) -> Iterator[Exercise]:
        return iter(self.exercises)

    def __len__(self) -> int:
        return len(self.exercises)

    def ids(self) -> tuple[str, ...]:
        """Exercise ids in file order."""
        return tuple(ex.id for ex in self.exercises)

    def source(self, source_id: str) -> Source:
        """The source article with this id (``KeyError`` if none)."""
        for s in self.sources:
            if s.id == source_id:
                return s
        raise KeyError(f"no source {source_id!r} in the catalog")

    def name_keys(self) -> dict[str, str]:
        """``normalize_name`` of every id, name and alias -> exercise id."""
        return dict(self._name_keys)

    def folded_keys(self) -> dict[str, str]:
        """``fold_plurals`` of every name key -> exercise id, ambiguous keys left out."""
        return dict(self._folded_keys)

    def to_records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per exercise.

        Keys: ``id``, ``name``, ``aliases`` (list), ``region``, ``kind``, ``position``,
        ``summary``, ``default_source`` (source id), ``cautions`` (list of ``{id, text,
        kind, source}``) and ``prescriptions`` (list of dicts with ``source`` (the article
        title), ``source_id``, ``hold_s_min``, ``hold_s_max``, ``reps_min``, ``reps_max``,
        ``sets``, ``rest_s_min``, ``rest_s_max``, ``rest``, ``sides``, ``times_per_day``,
        ``quote``, ``note``; ``None`` where the article is silent).
        """
        return [ex.to_record() for ex in self.exercises]

    def to_frame(self) -> pd.DataFrame:
        """One row per exercise with its default dose.

        Columns: ``id``, ``name``, ``region``, ``kind``, ``position``, ``hold_s_min``,
        ``hold_s_max`` (float seconds), ``reps_min``, ``reps_max``, ``sets`` (nullable
        ``Int64``), ``sides``, ``times_per_day`` (``Int64``), ``default_source`` (source id),
        ``n_sources`` (articles describing it), ``aliases`` (joined by ``", "``).
        """
        import pandas as pd

        rows = []
        for ex in self.exercises:
            d = ex.default
            rows.append({
                "id": ex.id,
                "name": ex.name,
                "region": ex.region,
                "kind": ex.kind,
                "position": ex.position,
                "hold_s_min": d.hold_s_min,
                "hold_s_max": d.hold_s_max,
                "reps_min": d.reps_min,
                "reps_max": d.reps_max,
                "sets": d.sets,
                "sides": d.sides,
                "times_per_day": d.times_per_day,
                "default_source": d.source_id,
                "n_sources": len(ex.prescriptions),
                "aliases": ", ".join(ex.aliases),
            })
        frame = pd.DataFrame(rows, columns=_FRAME_COLUMNS)
        return frame.astype({
            "hold_s_min": "float64",
            "hold_s_max": "float64",
            "reps_min": "Int64",
            "reps_max": "Int64",
            "sets": "Int64",
            "times_per_day": "Int64",
            "n_sources": "int64",
        })


_FRAME_COLUMNS = [
    "id", "name", "region", "kind", "position", "hold_s_min", "hold_s_max", "reps_min",
    "reps_max", "sets", "sides", "times_per_day", "default_source", "n_sources", "aliases",
]


# --------------------------------------------------------------------------- loading


class _Reader:
    """Builds a :class:`Catalog` from parsed YAML, collecting every problem it finds."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[str] = []

    def problem(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    # -- small checks -------------------------------------------------------------

    def keys(self, where: str, obj: object, spec: Mapping[str, bool]
             ) -> dict[str, Any] | None:
        """``obj`` if it is a mapping (missing required and unknown keys are reported)."""
        if not isinstance(obj, dict):
            self.problem(where, f"must be a mapping, got {type(obj).__name__}")
            return None
        missing = [k for k, required in spec.items() if required and k not in obj]
        unknown = sorted(str(k) for k in obj if k not in spec)
        if missing:
            self.problem(where, f"missing required key(s): {', '.join(missing)}")
        if unknown:
            self.problem(
                where, f"unknown key(s): {', '.join(unknown)} (allowed: {', '.join(spec)})"
            )
        return obj

    def text(self, where: str, obj: Mapping[str, Any], key: str, *, optional: bool = False
             ) -> str | None:
        if key not in obj:  # a missing required key was reported by keys()
            return None
        value = obj[key]
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(where, f"{key} must be a non-empty string, got {value!r}")
            return None
        return value.strip()

    def ident(self, where: str, obj: Mapping[str, Any], key: str = "id") -> str | None:
        if key not in obj:  # a missing required key was reported by keys()
            return None
        value = obj[key]
        if not isinstance(value, str) or not _ID_RE.match(value):
            self.problem(where, f"{key} {value!r} is not a snake_case id")
            return None
        return value

    def enum(self, where: str, obj: Mapping[str, Any], key: str, allowed: tuple[str, ...],
             *, optional: bool = False) -> str | None:
        if key not in obj:  # a missing required key was reported by keys()
            return None
        value = obj[key]
        if value is None and optional:
            return None
        if value not in allowed:
            self.problem(where, f"{key} {value!r} is not one of: {', '.join(allowed)}")
            return None
        return value

    def seconds(self, where: str, obj: Mapping[str, Any], key: str) -> float | None:
        value = obj.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(where, f"{key} must be a number of seconds, got {value!r}")
            return None
        if not math.isfinite(value) or value < 0:
            self.problem(where, f"{key} must be a finite number >= 0, got {value!r}")
            return None
        return float(value)

    def count(self, where: str, obj: Mapping[str, Any], key: str) -> int | None:
        value = obj.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(where, f"{key} must be a whole number, got {value!r}")
            return None
        if value < 1:
            self.problem(where, f"{key} must be >= 1, got {value!r}")
            return None
        return value

    # -- entries ------------------------------------------------------------------

    def caution(self, where: str, raw: object, source_ids: set[str] | None,
                source_id: str | None) -> Caution | None:
        """One caution; ``source_ids`` given means the caution names its own ``source``."""
        spec = dict(_CAUTION_KEYS)
        if source_ids is not None:
            spec["source"] = True
        obj = self.keys(where, raw, spec)
        if obj is None:
            return None
        cid = self.ident(where, obj)
        text = self.text(where, obj, "text")
        kind = self.enum(where, obj, "kind", CAUTION_KINDS)
        if source_ids is not None:
            source_id = obj.get("source")
            if not isinstance(source_id, str) or source_id not in source_ids:
                self.problem(where, f"source {source_id!r} is not a known source id")
                source_id = None
        if cid is None or text is None or kind is None or source_id is None:
            return None
        return Caution(cid, text, kind, source_id)

    def source(self, where: str, raw: object) -> Source | None:
        obj = self.keys(where, raw, _SOURCE_KEYS)
        if obj is None:
            return None
        sid = self.ident(where, obj)
        title = self.text(where, obj, "title")
        author = self.text(where, obj, "author", optional=True)
        seed_file = self.text(where, obj, "seed_file")
        raw_cautions = obj.get("cautions")
        cautions: list[Caution] = []
        if not isinstance(raw_cautions, list):
            self.problem(where, f"cautions must be a list (may be empty), got {raw_cautions!r}")
        elif sid is not None:
            for i, item in enumerate(raw_cautions):
                c = self.caution(f"{where}.cautions[{i}]", item, None, sid)
                if c is not None:
                    cautions.append(c)
        if sid is None or title is None or seed_file is None:
            return None
        return Source(sid, title, author, seed_file, tuple(cautions))

    def prescription(self, where: str, raw: object, sources: Mapping[str, Source]
                     ) -> Prescription | None:
        obj = self.keys(where, raw, _PRESCRIPTION_KEYS)
        if obj is None:
            return None
        source_id = obj.get("source")
        if not isinstance(source_id, str) or source_id not in sources:
            self.problem(where, f"source {source_id!r} is not a known source id")
            source_id = None
        secs = {k: self.seconds(where, obj, k) for k in _SECONDS_FIELDS}
        counts = {k: self.count(where, obj, k) for k in _COUNT_FIELDS}
        values: dict[str, float | int | None] = {**secs, **counts}
        for lo, hi in _RANGES:
            a, b = values[lo], values[hi]
            if a is not None and b is not None and a > b:
                self.problem(where, f"{lo} {a:g} > {hi} {b:g}")
        rest = self.text(where, obj, "rest", optional=True)
        note = self.text(where, obj, "note", optional=True)
        quote = self.text(where, obj, "quote")
        sides = self.enum(where, obj, "sides", SIDES, optional=True)
        if source_id is None or quote is None:
            return None
        return Prescription(
            source_id=source_id,
            source_title=sources[source_id].title,
            hold_s_min=secs["hold_s_min"],
            hold_s_max=secs["hold_s_max"],
            reps_min=counts["reps_min"],
            reps_max=counts["reps_max"],
            sets=counts["sets"],
            rest_s_min=secs["rest_s_min"],
            rest_s_max=secs["rest_s_max"],
            rest=rest,
            sides=sides,
            times_per_day=counts["times_per_day"],
            quote=quote,
            note=note,
        )

    def exercise(self, where: str, raw: object, sources: Mapping[str, Source],
                 cautions: Mapping[str, Caution], wide: Mapping[str, tuple[Caution, ...]]
                 ) -> Exercise | None:
        obj = self.keys(where, raw, _EXERCISE_KEYS)
        if obj is None:
            return None
        eid = self.ident(where, obj)
        name = self.text(where, obj, "name")
        summary = self.text(where, obj, "summary")
        region = self.enum(where, obj, "region", REGIONS)
        kind = self.enum(where, obj, "kind", KINDS)
        position = self.enum(where, obj, "position", POSITIONS)

        aliases: list[str] = []
        raw_aliases = obj.get("aliases")
        if not isinstance(raw_aliases, list):
            self.problem(where, f"aliases must be a list (may be empty), got {raw_aliases!r}")
        else:
            for alias in raw_aliases:
                if not isinstance(alias, str) or not normalize_name(alias):
                    self.problem(where, f"alias {alias!r} is not a usable name")
                else:
                    aliases.append(alias.strip())

        prescriptions: list[Prescription] = []
        raw_ps = obj.get("prescriptions")
        if not isinstance(raw_ps, list) or not raw_ps:
            self.problem(where, "prescriptions must be a non-empty list")
        else:
            seen: set[str] = set()
            for i, item in enumerate(raw_ps):
                p = self.prescription(f"{where}.prescriptions[{i}]", item, sources)
                if p is None:
                    continue
                if p.source_id in seen:
                    self.problem(
                        where, f"two prescriptions from source {p.source_id!r} (one per article)"
                    )
                    continue
                seen.add(p.source_id)
                prescriptions.append(p)

        default_id = obj.get("default")
        default = next((p for p in prescriptions if p.source_id == default_id), None)
        if default is None and prescriptions:
            self.problem(
                where,
                f"default {default_id!r} is not the source of one of its prescriptions "
                f"({', '.join(p.source_id for p in prescriptions)})",
            )

        found = self._exercise_cautions(where, obj.get("cautions"), cautions)
        used = {p.source_id for p in prescriptions}
        listed = {c.id for c in found}
        for c in found:
            if c.source_id not in used:
                self.problem(
                    where, f"caution {c.id!r} is from source {c.source_id!r}, "
                    "which has no prescription for this exercise",
                )
        for sid in sorted(used):
            for c in wide.get(sid, ()):
                if c.id not in listed:
                    self.problem(
                        where, f"article-wide caution {c.id!r} of source {sid!r} is not listed"
                    )

        if (
            eid is None or name is None or summary is None or region is None
            or kind is None or position is None or default is None
        ):
            return None
        return Exercise(
            id=eid,
            name=name,
            aliases=tuple(aliases),
            region=region,
            kind=kind,
            position=position,
            summary=summary,
            prescriptions=tuple(prescriptions),
            default=default,
            cautions=tuple(found),
        )

    def _exercise_cautions(self, where: str, raw: object, cautions: Mapping[str, Caution]
                           ) -> list[Caution]:
        if not isinstance(raw, list):
            self.problem(where, f"cautions must be a list of caution ids, got {raw!r}")
            return []
        found: list[Caution] = []
        for cid in raw:
            if not isinstance(cid, str) or cid not in cautions:
                self.problem(where, f"caution {cid!r} is not a known caution id")
            elif any(c.id == cid for c in found):
                self.problem(where, f"caution {cid!r} is listed twice")
            else:
                found.append(cautions[cid])
        return found

    # -- whole file ---------------------------------------------------------------

    def catalog(self, raw: object) -> Catalog | None:
        data = self.keys("catalog", raw, _TOP_KEYS)
        if data is None:
            return None
        if "version" in data and data["version"] != 1:
            self.problem("catalog", f"version must be 1, got {data.get('version')!r}")

        sources: dict[str, Source] = {}
        raw_sources = data.get("sources", [])
        if not isinstance(raw_sources, list) or (not raw_sources and "sources" in data):
            self.problem("catalog", "sources must be a non-empty list")
            raw_sources = []
        for i, item in enumerate(raw_sources):
            where = f"sources[{i}]" + _label(item)
            s = self.source(where, item)
            if s is None:
                continue
            if s.id in sources:
                self.problem(where, f"duplicate source id {s.id!r}")
                continue
            sources[s.id] = s

        cautions: dict[str, Caution] = {}
        for s in sources.values():
            for c in s.cautions:
                self._add_caution(f"source {s.id!r}", c, cautions)
        raw_cautions = data.get("cautions") or []
        if not isinstance(raw_cautions, list):
            self.problem("catalog", "cautions must be a list")
            raw_cautions = []
        for i, item in enumerate(raw_cautions):
            where = f"cautions[{i}]" + _label(item)
            c = self.caution(where, item, set(sources), None)
            if c is not None:
                self._add_caution(where, c, cautions)
        wide = {s.id: s.cautions for s in sources.values()}

        exercises: dict[str, Exercise] = {}
        raw_exercises = data.get("exercises", [])
        if not isinstance(raw_exercises, list) or (not raw_exercises and "exercises" in data):
            self.problem("catalog", "exercises must be a non-empty list")
            raw_exercises = []
        for i, item in enumerate(raw_exercises):
            where = f"exercises[{i}]" + _label(item)
            ex = self.exercise(where, item, sources, cautions, wide)
            if ex is None:
                continue
            if ex.id in exercises:
                self.problem(where, f"duplicate exercise id {ex.id!r}")
                continue
            exercises[ex.id] = ex

        used = {
            p.get("source")
            for ex in raw_exercises if isinstance(ex, dict)
            for p in (ex.get("prescriptions") or [])
            if isinstance(p, dict) and isinstance(p.get("source"), str)
        }
        for sid in sources:
            if sid not in used:
                self.problem(f"source {sid!r}", "no exercise has a prescription from it")

        ambiguous = self._check_names(exercises.values())
        if self.problems:
            return None
        return Catalog(tuple(exercises.values()), tuple(sources.values()), ambiguous)

    def _add_caution(self, where: str, c: Caution, cautions: dict[str, Caution]) -> None:
        if c.id in cautions:
            self.problem(where, f"duplicate caution id {c.id!r}")
        else:
            cautions[c.id] = c

    def _check_names(self, exercises: Iterable[Exercise]) -> frozenset[str]:
        """Report names shared by two entries; return plural-level shared keys."""
        exercises = list(exercises)
        owners: dict[str, tuple[str, str]] = {}
        for ex in exercises:
            for name in ex.names():
                key = normalize_name(name)
                other = owners.setdefault(key, (ex.id, name))
                if other[0] != ex.id:
                    self.problem(
                        f"exercise {ex.id!r}",
                        f"alias/name {name!r} collides with {other[1]!r} of exercise "
                        f"{other[0]!r} (both normalise to {key!r})",
                    )
        _, folded = _key_maps(exercises)
        return frozenset(k for k, ids in folded.items() if len(ids) > 1)


def _label(item: object) -> str:
    """`` 'id'`` for an entry with a string id (used in problem locations)."""
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        return f" {item['id']!r}"
    return ""


def _parse(text: str, path: str) -> Catalog:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(path, [f"not valid YAML: {exc}"]) from exc
    if data is None:
        raise CatalogError(path, ["the file is empty"])
    reader = _Reader(path)
    catalog = reader.catalog(data)
    if catalog is None:
        raise CatalogError(path, reader.problems)
    return catalog


@functools.lru_cache(maxsize=1)
def _load_default() -> Catalog:
    resource = resources.files(_PACKAGE).joinpath(*_RESOURCE)
    return _parse(resource.read_text(encoding="utf-8"), f"{_PACKAGE}/{'/'.join(_RESOURCE)}")


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate a catalog YAML file (default: the one shipped in the package).

    Every problem in the file is collected and reported in one :class:`CatalogError`
    (missing or unknown keys, values outside the allowed sets, ids that are not unique
    snake_case, min > max, negative numbers, non-integer counts, a ``default`` or caution
    that does not exist, an unknown source, an article-wide caution left out, and names
    that collide across entries after :func:`~analytics.names.normalize_name`). Names that
    only collide after :func:`~analytics.names.fold_plurals` are recorded in
    :attr:`Catalog.plural_ambiguous` instead. The packaged catalog is loaded once and cached.
    """
    if path is None:
        return _load_default()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError(str(p), ["catalog file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(str(p), [f"cannot read the catalog file: {exc}"]) from exc
    return _parse(text, str(p))


# --------------------------------------------------------------------------- display


def _num(value: float | int) -> str:
    return f"{value:g}"


def _range(lo: float | int | None, hi: float | int | None) -> str:
    if lo is None and hi is None:
        return "?"
    if lo is None:
        return f"up to {_num(hi)}"  # type: ignore[arg-type]
    if hi is None or lo == hi:
        return _num(lo)
    return f"{_num(lo)}-{_num(hi)}"


def format_dose(p: Prescription) -> str:
    """A short dose text, e.g. ``"hold 20-30 s x ? reps, each side, 2x/day"``.

    ``?`` marks a part the article leaves open; a prescription with no number at all gives
    ``"no dose given"``.
    """
    if not p.has_dose:
        return "no dose given"
    parts: list[str] = []
    main: list[str] = []
    if p.hold_s_min is not None or p.hold_s_max is not None:
        main.append(f"hold {_range(p.hold_s_min, p.hold_s_max)} s")
    reps = f"{_range(p.reps_min, p.reps_max)} reps"
    if p.sets is not None:
        reps = f"{p.sets} sets x {reps}"
    main.append(reps)
    parts.append(" x ".join(main))
    if p.rest_s_min is not None or p.rest_s_max is not None:
        parts.append(f"rest {_range(p.rest_s_min, p.rest_s_max)} s")
    if p.sides == "each_side":
        parts.append("each side")
    if p.times_per_day is not None:
        parts.append(f"{p.times_per_day}x/day")
    return ", ".join(parts)


_NAME_WIDTH = 34


def format_table(catalog: Catalog) -> str:
    """A fixed-width text table of the catalog (one line per exercise, default dose).

    Columns: id, name (cut to 34 characters), region, kind, default dose
    (:func:`format_dose`) and the id of the source article the default comes from (``+N``
    when N more articles describe it).
    """
    header = ("id", "name", "region", "kind", "default dose", "source")
    rows = [header]
    for ex in catalog:
        more = len(ex.prescriptions) - 1
        src = ex.default.source_id + (f" (+{more})" if more else "")
        name = ex.name if len(ex.name) <= _NAME_WIDTH else ex.name[: _NAME_WIDTH - 3] + "..."
        rows.append((ex.id, name, ex.region, ex.kind, format_dose(ex.default), src))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"{len(catalog)} exercises from {len(catalog.sources)} articles")
    return "\n".join(lines)
