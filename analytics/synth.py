"""A realistic, deterministic synthetic cohort: patients, programs, logged sets and pain.

:func:`generate_cohort` builds the four contract tables (see :mod:`analytics.schema`)
for ``n_patients`` patients over the ``days`` calendar days that end on ``end_date``;
:func:`write_cohort` writes them as CSV or Parquet.

What makes the data realistic
-----------------------------
* **Adherence patterns** are assigned round-robin (patient ``i`` gets
  ``ADHERENCE_PATTERNS[i % 7]``), so any cohort of 7+ patients holds every pattern:
  ``steady`` (~80-90 % of prescribed days), ``fading`` (good for 3-5 weeks, then
  decaying), ``weekends_only``, ``dropout`` (stops completely after 3-6 weeks),
  ``late_starter`` (starts after ~10-18 days), ``near_perfect`` and ``twice_daily``
  (program ``times_per_day`` = 2, morning and evening). The pattern is written into
  ``patients.notes`` as ``"Synthetic profile: <pattern>."``.
* **Programs** hold 4-7 catalog exercises (display names) from the patient's first day,
  dosed from the catalog default prescription (``reps_max`` or ``reps_min``, a pure
  hold is 1 rep; ``hold_s_min``; ``sets`` or 1), or a usual clinical dose where the
  catalog gives no numbers. Every third patient has one exercise end part-way (blank
  ``end_date`` = open-ended), every third one gets an exercise added part-way. One row
  per set in ``sessions``: an ``each_side`` exercise alternates left/right rows and
  ``set_index`` counts all its rows in the session (1, 2, 3, ...).
* **Times** are local wall-clock times in the patient's IANA time zone, following a
  personal morning / lunchtime / evening habit with day-to-day variance; every session
  lies between 06:00 and 22:30 (so never in a DST gap), sets a minute or two apart.
* **Holds** (seconds) start at 60-80 % of the prescription and progress, with plateaus,
  to 100-120 %; reps are usually as prescribed, sometimes fewer.
* **Exercise text** is typed as people type it: mostly the catalog name or a habitual
  alias, sometimes lower case, hyphenated or plural, and in about 3-5 % of rows a
  one-letter typo. Every text resolves to its own exercise like :mod:`analytics.link`
  does it (exact normalised name or alias, then plural-folded, then
  :func:`rapidfuzz.fuzz.ratio` on normalised names), with a fuzzy score of at least 90
  and 5 points ahead of any other exercise.
* **Pain** (0-10) starts at 4-7, falls by about 2-3 points over 12 weeks with good
  adherence, stays flat or worsens with poor adherence, and has flare-ups (+2-3 for a
  few days). Reports are given before/after some sessions (after is usually lower), on
  some mornings and evenings. A few patients (about 15 %) report symptoms once (in
  turn: ``numbness;tingling``, ``weakness``, ``night_pain``, ...).

Determinism: everything is drawn from ``numpy.random.default_rng(seed)`` (one spawned
child stream for the cohort and one per patient, so patient ``i``'s data do not depend
on ``n_patients``, except who reports symptoms). The current date is consulted only to
refuse an ``end_date`` after tomorrow and, when ``end_date`` is within a day of today,
to drop rows later than the patient's current local time.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from rapidfuzz import fuzz

from analytics.errors import AnalyticsError
from analytics.fsutil import atomic_path
from analytics.names import fold_plurals, normalize_name

#: Adherence patterns, assigned round-robin to patients.
ADHERENCE_PATTERNS: tuple[str, ...] = (
    "steady", "fading", "weekends_only", "dropout", "late_starter", "near_perfect",
    "twice_daily",
)

#: End date used when none is given (fixed, so that output is reproducible).
DEFAULT_END_DATE: dt.date = dt.date(2026, 11, 15)

#: Column order of each generated table (the data contract).
PATIENT_COLUMNS: tuple[str, ...] = ("patient_id", "name", "timezone", "notes")
PROGRAM_COLUMNS: tuple[str, ...] = (
    "patient_id", "exercise", "start_date", "end_date", "sets", "reps", "hold_s",
    "times_per_day", "days_per_week", "side",
)
SESSION_COLUMNS: tuple[str, ...] = (
    "patient_id", "performed_at", "exercise", "sets", "reps", "hold_s", "side", "rpe",
    "notes", "set_index", "set_type", "source",
)
PAIN_COLUMNS: tuple[str, ...] = (
    "patient_id", "reported_at", "pain", "context", "symptoms", "notes",
)

TIMEZONES: tuple[str, ...] = (
    "Europe/London", "America/New_York", "America/Los_Angeles", "Europe/Berlin",
    "Australia/Sydney", "Asia/Kolkata",
)

_FIRST_NAMES: tuple[str, ...] = (
    "Amelia", "Oliver", "Priya", "Liam", "Sofia", "Noah", "Hannah", "Mateo", "Chloe",
    "Arjun", "Isla", "Lucas", "Maya", "Ethan", "Zara", "Jonas", "Leah", "Samuel", "Ines",
    "Daniel", "Grace", "Ravi", "Emma", "Felix", "Aisha", "Tom", "Nina", "Oscar", "Mei",
    "Harper", "Kofi", "Lena", "Diego", "Ruby", "Anika", "James", "Clara", "Yusuf", "Eva",
    "Miles", "Freya", "Rohan", "Alice", "Marco", "Sienna", "Ben", "Julia", "Kai", "Laura",
    "Vikram", "Elena", "Jack", "Niamh", "Theo", "Amara", "Hugo", "Ivy", "Sanjay", "Rosa",
    "Patrick",
)
_LAST_NAMES: tuple[str, ...] = (
    "Patel", "Smith", "Müller", "Nguyen", "O'Brien", "Garcia", "Kowalski", "Johnson",
    "Sharma", "Williams", "Schneider", "Brown", "Rossi", "Taylor", "Fischer", "Martin",
    "Iyer", "Anderson", "Dubois", "Walker", "Costa", "Hughes", "Becker", "Khan", "Evans",
    "Lindqvist", "Murphy", "Reddy", "Thompson", "Novak", "Clarke", "Hoffmann", "Silva",
    "Wright", "Kapoor", "Lewis", "Jensen", "Moreno", "Okafor", "Bennett", "Chen",
    "Fitzgerald", "Wagner", "Romero", "Das", "Harris", "Sato", "Kelly", "Lopez", "Young",
)
_CLINICAL_NOTES: tuple[str, ...] = (
    "Chronic low back pain, desk worker.",
    "Non-specific LBP for 6 months; sedentary job.",
    "L4/L5 disc bulge on MRI, no neuro signs at assessment.",
    "Recurrent back pain after lifting at work (warehouse).",
    "Post-partum low back and pelvic girdle pain.",
    "Mechanical back pain; keen runner returning to sport.",
    "Stiff lower back in the mornings, improves with movement.",
    "Neck and upper back tension, long hours at a laptop.",
    "Referred by GP; mild sciatica symptoms resolved.",
    "Retired; back pain after gardening, wants to stay active.",
    "Hypermobile; core stability focus.",
    "Long-haul driver; pain worse after long drives.",
)
_SESSION_NOTES: tuple[str, ...] = (
    "felt tight", "easier today", "left side stiffer", "after a walk",
    "cut short, tired", "twinge on the last one", "good session", "did it before work",
    "bit sore afterwards", "rushed",
)
_PAIN_NOTES: tuple[str, ...] = (
    "after a long drive", "slept badly", "good day", "stiff after sitting all day",
    "better after the walk", "busy day at work",
)
_FLARE_NOTES: tuple[str, ...] = (
    "flare-up after gardening", "flare-up, lifted a heavy box", "flare-up after a long flight",
    "back went into spasm", "flare-up after moving furniture",
)
#: Red-flag and other symptom reports, used in turn by the few patients who report any.
_SYMPTOM_REPORTS: tuple[tuple[str, str], ...] = (
    ("numbness;tingling", "pins and needles down the left leg"),
    ("weakness", "right leg felt weak on the stairs"),
    ("night_pain", "woke at night with pain"),
    ("tingling", "tingling in the toes after sitting"),
    ("numbness;weakness", "foot numb and weak this morning"),
    ("fever", "feeling feverish, back aching"),
    ("saddle_numbness;bladder_bowel", "numb between the legs, trouble passing urine"),
    ("other", "headache with the neck pain"),
)

_SECONDS_PER_HOUR = 3600
_EARLIEST_S = 6 * _SECONDS_PER_HOUR + 10 * 60  # first session start, 06:10
_LATEST_END_S = 22 * _SECONDS_PER_HOUR + 15 * 60  # last set done by 22:15
_LATEST_REPORT_S = 22 * _SECONDS_PER_HOUR + 30 * 60  # no pain report after 22:30
_FAR_FUTURE_DAY = 10**9
_MIN_VARIANT_RATIO = 90.0  # a typed variant must score at least this against its source
_AMBIGUITY_MARGIN = 5.0  # ...and beat every other exercise by this much


@dataclass(frozen=True)
class Cohort:
    """A synthetic cohort: the four contract tables as pandas DataFrames.

    Attributes
    ----------
    patients : pandas.DataFrame
        ``patient_id, name, timezone, notes``.
    programs : pandas.DataFrame
        ``patient_id, exercise, start_date, end_date, sets, reps, hold_s (s),
        times_per_day, days_per_week, side``; dates ``YYYY-MM-DD``, blank end = open.
    sessions : pandas.DataFrame
        One row per set: ``patient_id, performed_at`` (local naive ISO 8601),
        ``exercise`` (as typed), ``sets, reps, hold_s (s), side, rpe, notes, set_index,
        set_type, source``.
    pain : pandas.DataFrame
        ``patient_id, reported_at`` (local naive ISO 8601), ``pain`` (0-10),
        ``context, symptoms, notes``.
    """

    patients: pd.DataFrame
    programs: pd.DataFrame
    sessions: pd.DataFrame
    pain: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """The four tables by contract name, in loading order."""
        return {"patients": self.patients, "programs": self.programs,
                "sessions": self.sessions, "pain": self.pain}


# --------------------------------------------------------------------------- catalog


@dataclass(frozen=True)
class _Spec:
    """One catalog exercise prepared for the generator."""

    id: str
    name: str
    region: str
    kind: str
    sets: int
    reps: int  # a pure timed hold is 1 rep
    hold_s: float | None  # seconds per repetition, None when not timed
    side: str | None  # "each_side" | "both" | None
    dosed: bool  # the catalog gives numbers for it
    habitual: tuple[str, ...]  # forms a patient may settle on (name, aliases...)
    variants: tuple[str, ...]  # occasional forms (lower case, hyphens, plurals)
    typos: tuple[str, ...]  # one-letter typos that still link unambiguously


def _attr(obj: object, name: str) -> Any:
    return getattr(obj, name, None) if obj is not None else None


#: Last words people pluralise ("hamstring stretches", "planks", "press-ups").
_COUNT_NOUNS: frozenset[str] = frozenset({
    "stretch", "tilt", "plank", "bridge", "crunch", "rotation", "shrug", "up", "raise",
    "dog", "curl", "squat", "lunge", "tuck", "extension", "lift", "circle", "slide",
    "kick", "twist", "clam", "clamshell", "bend", "retraction", "roll", "cow", "camel",
    "pose", "stretching", "hold", "row", "dip", "push", "march", "reach", "flexion",
})


def _pluralize(text: str) -> str | None:
    """Pluralise a name as people do: ``"Hamstring stretch"`` -> ``"Hamstring
    stretches"``, ``"knee to chest"`` -> ``"knees to chest"``; ``None`` when there is no
    natural plural."""
    if re.search(r"\bknee to\b", text, flags=re.IGNORECASE):
        return re.sub(r"\b([Kk])nee to\b", r"\1nees to", text, count=1)
    match = re.search(r"([A-Za-z]+)$", text)
    if not match or match.group(1).lower() not in _COUNT_NOUNS:
        return None
    last = match.group(1)
    low = last.lower()
    if low.endswith(("ch", "sh", "s", "x", "z")):
        plural = last + "es"
    elif low.endswith("y") and low[-2:-1] not in ("a", "e", "i", "o", "u"):
        plural = last[:-1] + "ies"
    else:
        plural = last + "s"
    return text[:match.start()] + plural


_KEYBOARD_NEIGHBOURS: dict[str, str] = {
    "a": "qs", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
}


def _typo(text: str, rng: np.random.Generator) -> str:
    """One keyboard slip in a letter of a word of 4+ letters: a dropped, swapped,
    doubled or neighbouring letter."""
    letters = [i for i, ch in enumerate(text) if ch.isalpha() and i > 0]
    words_ok = [i for i in letters if _word_len_at(text, i) >= 4]
    if not words_ok:
        return text
    i = int(words_ok[int(rng.integers(len(words_ok)))])
    op = int(rng.integers(4))
    if op == 0:  # dropped letter
        return text[:i] + text[i + 1:]
    if (op == 1 and i + 1 < len(text) and text[i:i + 2].isalpha() and text[i:i + 2].islower()
            and text[i + 1] != text[i]):
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]  # swapped letters
    if op == 2:  # doubled letter
        return text[:i] + text[i] + text[i:]
    near = _KEYBOARD_NEIGHBOURS.get(text[i].lower(), "")
    if not near:
        return text[:i] + text[i + 1:]
    repl = near[int(rng.integers(len(near)))]
    return text[:i] + (repl.upper() if text[i].isupper() else repl) + text[i + 1:]


def _word_len_at(text: str, i: int) -> int:
    start = i
    while start > 0 and text[start - 1].isalpha():
        start -= 1
    end = i
    while end < len(text) and text[end].isalpha():
        end += 1
    return end - start


class _Resolver:
    """Checks that a typed text links to exactly one exercise, mirroring (more strictly)
    how :mod:`analytics.link` resolves names: an exact normalised key, else a key with
    plural endings folded (ambiguous folds skipped), else ``fuzz.ratio`` on normalised
    names, which must reach :data:`_MIN_VARIANT_RATIO` and beat every other exercise by
    :data:`_AMBIGUITY_MARGIN`."""

    def __init__(self, keys: dict[str, set[str]], plural_ambiguous: Iterable[str]) -> None:
        self._keys = keys  # exercise id -> normalised names/aliases/id
        self._exact: dict[str, set[str]] = {}
        folded: dict[str, set[str]] = {}
        for ex_id, ks in keys.items():
            for k in ks:
                self._exact.setdefault(k, set()).add(ex_id)
                folded.setdefault(fold_plurals(k), set()).add(ex_id)
        ambiguous = set(plural_ambiguous)
        self._folded = {f: ids for f, ids in folded.items() if f not in ambiguous}

    def links_to(self, text: str, ex_id: str, exact_only: bool = False) -> bool:
        """Whether ``text`` resolves to ``ex_id`` and to no other exercise."""
        norm = normalize_name(text)
        if not norm:
            return False
        if norm in self._exact:
            return self._exact[norm] == {ex_id}
        if exact_only:
            return False
        folded = fold_plurals(norm)
        if folded in self._folded:
            return self._folded[folded] == {ex_id}
        if len(norm) < 4:
            return False
        scores = {i: max(fuzz.ratio(norm, k) for k in ks) for i, ks in self._keys.items()}
        own = scores.pop(ex_id)
        other = max(scores.values(), default=0.0)
        return own >= _MIN_VARIANT_RATIO and other < own - _AMBIGUITY_MARGIN


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for s in items if s))


def _dose(ex: Any) -> tuple[int, int, float | None, str | None]:
    """``(sets, reps, hold_s, side)`` for a program: the catalog default prescription
    (reps = ``reps_max`` or ``reps_min``, a hold-only dose is 1 rep; hold = ``hold_s_min``
    seconds; sets = ``sets`` or 1), else the first of its other prescriptions that gives
    numbers, else a usual clinical dose for the kind of exercise (the catalog is silent
    for several exercises, and a written program needs numbers)."""
    default = _attr(ex, "default")
    side = _attr(default, "sides")
    for rx in (default, *(_attr(ex, "prescriptions") or ())):
        reps = _attr(rx, "reps_max") or _attr(rx, "reps_min")
        hold = _attr(rx, "hold_s_min") or _attr(rx, "hold_s_max")
        if reps or hold:
            return int(_attr(rx, "sets") or 1), int(reps or 1), hold and float(hold), side
    text = f"{ex.id} {ex.name}".lower()
    kind = _attr(ex, "kind")
    if "plank" in text:
        return 3, 1, 20.0, side  # 3 x 20 s holds
    if "cat" in text or kind == "mobility":
        return 1, 10, None, side  # 10 slow repetitions
    if kind == "stretch":
        return 1, 3, 20.0, side  # 3 x 20 s holds
    if kind == "strength":
        return 2, 10, None, side  # 2 sets of 10
    return 1, 10, None, side


def _prepare_catalog(catalog: Iterable[Any], rng: np.random.Generator) -> list[_Spec]:
    """Turn catalog exercises into generator specs with their typed-text forms."""
    exercises = list(catalog)
    keys = {str(ex.id): {normalize_name(s) for s in (ex.id, ex.name, *(ex.aliases or ()))
                         if normalize_name(s)} for ex in exercises}
    resolver = _Resolver(keys, getattr(catalog, "plural_ambiguous", ()))
    specs: list[_Spec] = []
    for ex in exercises:
        ex_id = str(ex.id)
        sets, reps, hold, side = _dose(ex)
        base = _unique([str(ex.name), *(str(a) for a in (ex.aliases or ()))])
        habitual = tuple(t for t in base if resolver.links_to(t, ex_id, exact_only=True))
        if str(ex.name) not in habitual:
            continue  # the catalog name collides with another exercise's: skip it
        occasional: list[str] = []
        for t in habitual:
            occasional += [t.lower(), t.lower().replace(" ", "-"), _pluralize(t) or "",
                           t.capitalize()]
        variants = tuple(t for t in _unique(occasional)
                         if t not in habitual and resolver.links_to(t, ex_id))
        typos: list[str] = []
        for t in habitual:
            if len(normalize_name(t)) < 10:
                continue
            for _ in range(4):
                cand = _typo(t, rng)
                if (normalize_name(cand) not in keys[ex_id]
                        and fold_plurals(normalize_name(cand)) != fold_plurals(
                            normalize_name(t))
                        and resolver.links_to(cand, ex_id)):
                    typos.append(cand)
        specs.append(_Spec(
            id=ex_id, name=str(ex.name), region=str(_attr(ex, "region") or ""),
            kind=str(_attr(ex, "kind") or ""), sets=max(sets, 1), reps=max(reps, 1),
            hold_s=hold, side=side if side in ("each_side", "both") else None,
            dosed=_dose_given(ex), habitual=habitual, variants=variants,
            typos=_unique(typos)[:8],
        ))
    if len(specs) < 4:
        raise ValueError("the catalog needs at least 4 usable exercises to build programs")
    return specs


def _dose_given(ex: Any) -> bool:
    """Whether any of the exercise's prescriptions gives numbers."""
    return any(_attr(rx, f) for rx in (_attr(ex, "default"), *(_attr(ex, "prescriptions")
                                                                  or ()))
               for f in ("reps_min", "reps_max", "hold_s_min", "hold_s_max"))


# --------------------------------------------------------------------------- patients


@dataclass
class _Program:
    spec: _Spec
    start_day: int  # day index in the period, inclusive
    end_day: int  # inclusive; _FAR_FUTURE_DAY when open-ended
    times_per_day: int
    days_per_week: int


@dataclass
class _PatientData:
    programs: list[dict[str, Any]] = field(default_factory=list)
    sessions: dict[str, np.ndarray] = field(default_factory=dict)
    pain: dict[str, np.ndarray] = field(default_factory=dict)


def _choose_exercises(specs: Sequence[_Spec], k: int, focus: str,
                      rng: np.random.Generator) -> list[_Spec]:
    """``k`` distinct exercises for a patient, weighted towards the clinical focus."""
    if focus == "neck":
        favoured = {"neck_upper_back"}
    else:
        favoured = {"lower_back", "core", "hips_legs"}
    weights = np.array([(4.0 if s.region in favoured else 0.3) * (2.0 if s.dosed else 1.0)
                        for s in specs])
    # a mix of stretching and strengthening: boost the kind not yet picked
    chosen: list[int] = []
    for _ in range(min(k, len(specs))):
        w = weights.copy()
        w[chosen] = 0.0
        kinds = {specs[i].kind for i in chosen}
        for j, s in enumerate(specs):
            if s.kind and s.kind not in kinds and w[j] > 0:
                w[j] *= 2.0
        chosen.append(int(rng.choice(len(specs), p=w / w.sum())))
    return [specs[i] for i in chosen]


def _daily_probability(pattern: str, n_days: int, weekday: np.ndarray, n_slots: int,
                       days_per_week: int, rng: np.random.Generator) -> np.ndarray:
    """Probability (0-1) of a session per day and slot, shape ``(n_days, n_slots)``."""
    d = np.arange(n_days, dtype=float)
    weekend = weekday >= 5
    if pattern == "steady":
        p = np.full(n_days, rng.uniform(0.85, 0.92))
        # an occasional few days off (holiday, busy week)
        for _ in range(int(rng.poisson(n_days / 70))):
            s = int(rng.integers(n_days))
            p[s:s + int(rng.integers(3, 6))] = 0.2
    elif pattern == "fading":
        fade_start = min(rng.uniform(21, 35), 0.5 * n_days)
        tau = rng.uniform(14, 24)
        p = np.where(d < fade_start, 0.9, 0.9 * np.exp(-(d - fade_start) / tau))
        p = np.maximum(p, 0.05)
    elif pattern == "weekends_only":
        p = np.where(weekend, rng.uniform(0.8, 0.92), 0.03)
    elif pattern == "dropout":
        stop = min(7 * int(rng.integers(3, 7)), int(0.6 * n_days))
        p = np.where(d < stop, rng.uniform(0.78, 0.9), 0.0)
    elif pattern == "late_starter":
        begin = min(int(rng.integers(10, 19)), int(0.4 * n_days))
        p = np.where(d < begin, 0.0, rng.uniform(0.78, 0.88))
    elif pattern == "near_perfect":
        p = np.full(n_days, rng.uniform(0.96, 0.99))
    elif pattern == "twice_daily":
        p = np.full(n_days, rng.uniform(0.85, 0.93))
    else:
        raise ValueError(f"unknown adherence pattern {pattern!r}")
    if days_per_week == 5:
        p = np.where(weekend, p * 0.08, p)
    probs = np.repeat(p[:, None], n_slots, axis=1)
    if n_slots == 2:
        probs[:, 1] *= rng.uniform(0.8, 0.92)  # the evening one is missed more often
    return np.clip(probs, 0.0, 1.0)


def _round_style(values: np.ndarray, style: str) -> np.ndarray:
    if style == "int":
        return np.round(values)
    if style == "five":
        return np.maximum(np.round(values / 5.0) * 5.0, 5.0)
    return np.round(values, 1)


def _generate_patient(patient_id: str, pattern: str, specs: Sequence[_Spec],
                      start: dt.date, n_days: int, rng: np.random.Generator,
                      change: str = "") -> _PatientData:
    """All program, session and pain rows of one patient (vectorised per patient).

    ``change`` is ``"end"`` (one exercise stops part-way, sometimes replaced by another
    the next day), ``"add"`` (one exercise is added part-way) or ``""`` (no change).
    """
    out = _PatientData()
    twice = pattern == "twice_daily"
    n_slots = 2 if twice else 1
    times_per_day = 2 if twice else 1
    days_per_week = 5 if (pattern in ("steady", "fading", "dropout", "late_starter",
                                      "near_perfect") and rng.random() < 0.3) else 7
    focus = "neck" if rng.random() < 0.15 else "back"

    # ---- program: 4-7 exercises, sometimes one ends or one is added mid-way
    k = int(rng.integers(4, 8))
    chosen = _choose_exercises(specs, k + 1, focus, rng)
    spare, chosen = chosen[k:] if len(chosen) > k else [], chosen[:k]
    programs = [_Program(s, 0, _FAR_FUTURE_DAY, times_per_day, days_per_week)
                for s in chosen]
    if n_days >= 21 and change == "end":
        j = int(rng.integers(len(programs)))
        programs[j].end_day = int(rng.uniform(0.35, 0.75) * n_days)
        if spare and rng.random() < 0.5:
            programs.append(_Program(spare[0], programs[j].end_day + 1, _FAR_FUTURE_DAY,
                                     times_per_day, days_per_week))
    elif n_days >= 21 and change == "add" and spare:
        programs.append(_Program(spare[0], int(rng.uniform(0.2, 0.6) * n_days),
                                 _FAR_FUTURE_DAY, times_per_day, days_per_week))
    for prog in programs:
        s = prog.spec
        end = (None if prog.end_day >= _FAR_FUTURE_DAY
               else (start + dt.timedelta(days=prog.end_day)).isoformat())
        out.programs.append({
            "patient_id": patient_id, "exercise": s.name,
            "start_date": (start + dt.timedelta(days=prog.start_day)).isoformat(),
            "end_date": end, "sets": s.sets, "reps": s.reps, "hold_s": s.hold_s,
            "times_per_day": prog.times_per_day, "days_per_week": prog.days_per_week,
            "side": s.side,
        })
    n_prog = len(programs)
    prog_start = np.array([p.start_day for p in programs])
    prog_end = np.array([p.end_day for p in programs])

    # ---- which days / slots have a session
    start64 = np.datetime64(start.isoformat(), "D")
    days64 = start64 + np.arange(n_days)
    weekday = (days64.astype("int64") + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    prob = _daily_probability(pattern, n_days, weekday, n_slots, days_per_week, rng)
    done = rng.random(prob.shape) < prob
    s_day, s_slot = np.nonzero(done)  # row-major: chronological

    # exercises done in each session (active program, occasionally one skipped)
    skip_p = rng.uniform(0.02, 0.1)
    active = ((s_day[:, None] >= prog_start[None, :]) & (s_day[:, None] <= prog_end[None, :])
              & (rng.random((len(s_day), n_prog)) >= skip_p))
    keep = active.any(axis=1)
    s_day, s_slot, active = s_day[keep], s_slot[keep], active[keep]
    n_sess = len(s_day)

    # ---- session start times (seconds after local midnight)
    habit = rng.choice(["morning", "lunch", "evening"], p=[0.5, 0.12, 0.38])
    if twice:
        means = np.array([rng.uniform(6.75, 8.5), rng.uniform(18.5, 21.0)])
    elif habit == "morning":
        means = np.array([rng.uniform(6.75, 9.0)])
    elif habit == "lunch":
        means = np.array([rng.uniform(12.0, 13.5)])
    else:
        means = np.array([rng.uniform(17.5, 21.0)])
    sd_h = rng.uniform(0.3, 0.8)
    hours = means[s_slot] + rng.normal(0.0, sd_h, n_sess)
    hours += np.where(weekday[s_day] >= 5, rng.uniform(0.25, 1.0), 0.0)  # lie-in
    hours = np.clip(hours, means[s_slot] - 2.0, means[s_slot] + 2.0)
    start_s = np.rint(hours * _SECONDS_PER_HOUR)

    # ---- sets: one row per set, per (session, exercise) pair
    pair_sess, pair_prog = np.nonzero(active)  # ordered by session, then program order
    n_pairs = len(pair_sess)
    p_sets = np.array([p.spec.sets for p in programs])[pair_prog]
    p_each = np.array([p.spec.side == "each_side" for p in programs])[pair_prog]
    per_set = np.where(p_each, 2, 1)
    n_rows_pair = p_sets * per_set
    short = (rng.random(n_pairs) < 0.06) & (p_sets > 1)
    n_rows_pair = n_rows_pair - np.where(short, per_set, 0)
    row_pair = np.repeat(np.arange(n_pairs), n_rows_pair)
    pair_first_row = np.cumsum(n_rows_pair) - n_rows_pair
    n_rows = int(n_rows_pair.sum())
    set_index = np.arange(n_rows) - pair_first_row[row_pair] + 1
    row_sess = pair_sess[row_pair]
    row_prog = pair_prog[row_pair]

    # time offsets: a minute or two between sets, a little more between exercises
    gaps = rng.uniform(55.0, 115.0, n_rows)
    gaps[pair_first_row] += rng.uniform(20.0, 90.0, n_pairs)
    sess_rows = np.bincount(row_sess, minlength=n_sess)
    sess_first_row = np.cumsum(sess_rows) - sess_rows
    gaps[sess_first_row[sess_rows > 0]] = 0.0
    csum = np.cumsum(gaps)
    offset = np.rint(csum - csum[sess_first_row[row_sess]])
    duration = np.zeros(n_sess)
    np.maximum.at(duration, row_sess, offset)
    start_s = np.clip(start_s, _EARLIEST_S, _LATEST_END_S - duration)
    row_sec = (start_s[row_sess] + offset).astype("int64")
    row_time = (days64[s_day][row_sess].astype("datetime64[s]")
                + row_sec.astype("timedelta64[s]"))

    # side
    logs_sides = rng.random() < 0.85
    first_left = rng.random() < 0.7
    p_side = np.array([p.spec.side or "" for p in programs], dtype=object)[row_prog]
    row_each = p_side == "each_side"
    left_turn = ((set_index - 1) % 2 == 0) == first_left
    side = np.full(n_rows, None, dtype=object)
    side[row_each] = np.where(left_turn[row_each], "left", "right")
    both_word = rng.random() < 0.5
    if both_word:
        side[p_side == "both"] = "both"
    if not logs_sides:
        side[:] = None

    # holds: start at 60-80 % of target and progress, with plateaus, to 100-120 %
    target = np.array([p.spec.hold_s if p.spec.hold_s else np.nan for p in programs])
    start_frac, end_frac = rng.uniform(0.6, 0.8), rng.uniform(1.0, 1.2)
    tau = rng.uniform(12.0, 30.0)  # sessions to get about 2/3 of the way there
    progress = np.ones(n_sess)
    n_plateaus = int(rng.poisson(1 + n_sess / 40))
    for _ in range(n_plateaus):
        s = int(rng.integers(max(n_sess, 1)))
        progress[s:s + int(rng.integers(5, 15))] = 0.0
    practice = np.zeros(n_pairs)
    for j in range(n_prog):
        m = pair_prog == j
        inc = progress[pair_sess[m]]
        practice[m] = np.cumsum(inc) - inc
    frac = start_frac + (end_frac - start_frac) * (1.0 - np.exp(-practice / tau))
    set_no = np.where(row_each, (set_index + 1) // 2, set_index)
    hold = (target[row_prog] * frac[row_pair] * (1.0 + rng.normal(0.0, 0.06, n_rows))
            * (1.0 - 0.03 * (set_no - 1)))
    hold_style = rng.choice(["int", "one_decimal", "five"], p=[0.6, 0.25, 0.15])
    hold = np.where(target[row_prog] >= 15.0, _round_style(hold, str(hold_style)),
                    _round_style(hold, "int" if hold_style == "five" else str(hold_style)))
    hold = np.maximum(hold, 1.0)

    # reps: usually as prescribed, sometimes fewer, rarely one more
    p_reps = np.array([p.spec.reps for p in programs])[row_prog]
    u = rng.random(n_rows)
    fewer = rng.integers(1, 4, n_rows)
    reps = np.where((u < 0.08) & (p_reps > 1), np.maximum(p_reps - fewer, 1), p_reps)
    reps = np.where((u > 0.985) & (p_reps > 1), p_reps + 1, reps)

    # rpe: some patients log it on most sets, getting easier over time
    rpe = np.full(n_rows, -1, dtype="int64")
    if rng.random() < 0.55:
        mu = rng.uniform(4.5, 7.0) - rng.uniform(0.5, 2.0) * s_day[row_sess] / max(n_days, 1)
        val = np.clip(np.rint(mu + rng.normal(0.0, 0.8, n_rows)), 0, 10).astype("int64")
        has = rng.random(n_rows) < 0.85
        rpe = np.where(has, val, -1)

    # notes: mostly blank, sometimes on the first set of an exercise
    notes = np.full(n_rows, None, dtype=object)
    note_at = (set_index == 1) & (rng.random(n_rows) < 0.02)
    notes[note_at] = np.array(_SESSION_NOTES, dtype=object)[
        rng.integers(len(_SESSION_NOTES), size=int(note_at.sum()))]

    # exercise text as typed: a habitual form per exercise, sometimes something else
    pair_text = np.empty(n_pairs, dtype=object)
    typo_p = rng.uniform(0.03, 0.05)
    for j, prog in enumerate(programs):
        s = prog.spec
        m = np.flatnonzero(pair_prog == j)
        if not len(m):
            continue
        w = np.array([max(len(s.habitual) - 1, 1)] + [1.0] * (len(s.habitual) - 1))
        habitual = s.habitual[int(rng.choice(len(s.habitual), p=w / w.sum()))]
        texts = np.full(len(m), habitual, dtype=object)
        v = rng.random(len(m))
        others = [t for t in (*s.habitual, *s.variants) if t != habitual]
        if others:
            pick = v < 0.1
            texts[pick] = np.array(others, dtype=object)[
                rng.integers(len(others), size=int(pick.sum()))]
        if s.typos:
            pick = v > 1.0 - typo_p
            texts[pick] = np.array(s.typos, dtype=object)[
                rng.integers(len(s.typos), size=int(pick.sum()))]
        pair_text[m] = texts
    out.sessions = {
        "performed_at": row_time, "exercise": pair_text[row_pair], "reps": reps,
        "hold_s": hold, "side": side, "rpe": rpe, "notes": notes,
        "set_index": set_index,
    }

    # ---- pain: a daily level driven by adherence, flare-ups and noise
    # Improvement grows with the sessions done so far but only holds while the patient
    # keeps exercising (recent adherence over the previous 4 weeks); a lapse lets the
    # pain creep back above baseline.
    sess_per_day = np.bincount(s_day, minlength=n_days)
    cum_before = np.cumsum(sess_per_day) - sess_per_day
    prescribed = ((weekday < 5) | (days_per_week == 7)).astype(float)
    did = prescribed * (sess_per_day > 0)
    window = 28
    did_c = np.concatenate([[0.0], np.cumsum(did)])
    pres_c = np.concatenate([[0.0], np.cumsum(prescribed)])
    hi = np.arange(n_days)  # days before today only
    lo = np.maximum(hi - window, 0)
    n_pres = pres_c[hi] - pres_c[lo]
    recent = np.where(n_pres > 0, (did_c[hi] - did_c[lo]) / np.maximum(n_pres, 1.0), 0.5)
    first_day = int(s_day[0]) if n_sess else n_days
    recent[: first_day + 1] = 0.5  # not started yet: pain stays at baseline
    baseline = rng.uniform(4.0, 7.0)
    max_drop = rng.uniform(2.8, 3.6)
    level = (baseline
             - max_drop * (1.0 - np.exp(-cum_before / (35.0 * times_per_day)))
             * np.minimum(recent / 0.7, 1.0)
             + 2.0 * np.maximum(0.55 - recent, 0.0))
    noise = np.zeros(n_days)
    eps = rng.normal(0.0, 0.45, n_days)
    for t in range(n_days):
        noise[t] = (0.7 * noise[t - 1] if t else 0.0) + eps[t]
    level += noise
    flare = np.zeros(n_days)
    flare_start_days: list[int] = []
    for _ in range(min(int(rng.poisson(n_days / 50)), 8)):
        s0 = int(rng.integers(n_days))
        length = int(rng.integers(2, 6))
        amp = rng.uniform(2.0, 3.0)
        shape = np.minimum(1.0, np.linspace(1.4, 0.4, length))
        seg = flare[s0:s0 + length]
        flare[s0:s0 + length] = np.maximum(seg, amp * shape[:len(seg)])
        flare_start_days.append(s0)
    level = np.clip(level + flare, 0.3, 10.0)

    # reports before/after sessions, on mornings, evenings, occasionally otherwise
    day_active = np.ones(n_days)
    if pattern == "dropout":
        last = int(s_day.max()) if n_sess else 0
        day_active[last + 1:] = 0.4  # people who stop exercising also stop reporting
    q_session = rng.uniform(0.25, 0.7)
    q_morning = rng.uniform(0.1, 0.5)
    q_evening = rng.uniform(0.03, 0.2)
    first_of_day = np.ones(n_sess, dtype=bool)
    first_of_day[1:] = s_day[1:] != s_day[:-1]
    with_report = first_of_day & (rng.random(n_sess) < q_session)
    before = with_report & (rng.random(n_sess) < 0.92)
    after = with_report & (rng.random(n_sess) < 0.9)
    b_idx, a_idx = np.flatnonzero(before), np.flatnonzero(after)
    b_val = level[s_day[b_idx]] + 0.3 + rng.normal(0.0, 0.4, len(b_idx))
    relief = np.where(rng.random(len(a_idx)) < 0.8, -rng.uniform(0.2, 1.3, len(a_idx)),
                      rng.uniform(0.0, 0.8, len(a_idx)))
    a_val = level[s_day[a_idx]] + 0.3 + relief + rng.normal(0.0, 0.25, len(a_idx))
    b_sec = start_s[b_idx] - rng.uniform(60, 360, len(b_idx))
    a_sec = np.minimum(start_s[a_idx] + duration[a_idx] + rng.uniform(60, 600, len(a_idx)),
                       _LATEST_REPORT_S)
    m_day = np.flatnonzero(rng.random(n_days) < q_morning * day_active)
    m_val = level[m_day] + 0.4 + rng.normal(0.0, 0.4, len(m_day))
    m_sec = rng.uniform(6.5, 9.25, len(m_day)) * _SECONDS_PER_HOUR
    e_day = np.flatnonzero(rng.random(n_days) < q_evening * day_active)
    e_val = level[e_day] + rng.normal(0.0, 0.4, len(e_day))
    e_sec = rng.uniform(19.5, 22.25, len(e_day)) * _SECONDS_PER_HOUR
    o_day = np.flatnonzero(rng.random(n_days) < 0.015 * day_active)
    o_val = level[o_day] + rng.normal(0.0, 0.5, len(o_day))
    o_sec = rng.uniform(10.0, 17.0, len(o_day)) * _SECONDS_PER_HOUR
    p_day = np.concatenate([s_day[b_idx], s_day[a_idx], m_day, e_day, o_day])
    p_sec = np.rint(np.concatenate([b_sec, a_sec, m_sec, e_sec, o_sec])).astype("int64")
    p_val = np.concatenate([b_val, a_val, m_val, e_val, o_val])
    p_ctx = np.repeat(np.array(["before_session", "after_session", "morning", "evening",
                                "other"], dtype=object),
                      [len(b_idx), len(a_idx), len(m_day), len(e_day), len(o_day)])
    pain_style = "int" if rng.random() < 0.65 else "one_decimal"
    p_val = np.clip(_round_style(p_val, pain_style), 0.0, 10.0)
    order = np.lexsort((p_sec, p_day))
    p_day, p_sec, p_val, p_ctx = p_day[order], p_sec[order], p_val[order], p_ctx[order]
    p_notes = np.full(len(p_day), None, dtype=object)
    chatty = rng.random(len(p_day)) < 0.04
    p_notes[chatty] = np.array(_PAIN_NOTES, dtype=object)[
        rng.integers(len(_PAIN_NOTES), size=int(chatty.sum()))]
    for s0 in flare_start_days:  # the first report in a flare says why
        hits = np.flatnonzero((p_day >= s0) & (p_day < s0 + 3))
        if len(hits):
            p_notes[hits[0]] = _FLARE_NOTES[int(rng.integers(len(_FLARE_NOTES)))]
    out.pain = {
        "reported_at": (days64[p_day].astype("datetime64[s]")
                        + p_sec.astype("timedelta64[s]")),
        "pain": p_val, "context": p_ctx,
        "symptoms": np.full(len(p_day), None, dtype=object), "notes": p_notes,
    }
    return out


def _add_symptoms(data: _PatientData, which: int, rng: np.random.Generator) -> None:
    """Mark one pain report of a patient with symptom report number ``which``."""
    n = len(data.pain["pain"])
    if not n:
        return
    symptoms, note = _SYMPTOM_REPORTS[which % len(_SYMPTOM_REPORTS)]
    i = int(rng.integers(n // 3, n)) if n >= 3 else n - 1
    data.pain["symptoms"][i] = symptoms
    data.pain["notes"][i] = note
    data.pain["pain"][i] = min(10.0, float(data.pain["pain"][i]) + 1.0)


# --------------------------------------------------------------------------- assembly


def _iso(values: np.ndarray) -> np.ndarray:
    """``datetime64[s]`` -> ``"YYYY-MM-DDTHH:MM:SS"`` strings."""
    return np.datetime_as_string(values, unit="s")


def _drop_future(frame: pd.DataFrame, column: str, tz_by_patient: dict[str, str],
                 now_utc: dt.datetime) -> pd.DataFrame:
    """Drop rows whose local wall time is later than now in the patient's zone."""
    if frame.empty:
        return frame
    local_now = {pid: now_utc.astimezone(ZoneInfo(tz)).replace(tzinfo=None).isoformat(
        timespec="seconds") for pid, tz in tz_by_patient.items()}
    limit = frame["patient_id"].map(local_now)
    return frame.loc[frame[column] <= limit].reset_index(drop=True)


def generate_cohort(
    n_patients: int = 12,
    days: int = 84,
    seed: int = 7,
    end_date: dt.date | None = None,
    catalog: Any = None,
) -> Cohort:
    """Generate a deterministic synthetic cohort.

    Parameters
    ----------
    n_patients : int
        Number of patients (ids ``P001``...; wider when more than 999).
    days : int
        Length of each patient's period in calendar days; the period is the ``days``
        days ending on ``end_date`` (inclusive), and every program starts on its
        first day.
    seed : int
        Seed for :func:`numpy.random.default_rng`; equal seeds give equal frames.
    end_date : datetime.date | None
        Last local day with data; default :data:`DEFAULT_END_DATE` (2026-11-15), not
        today, so that output is reproducible. At most tomorrow (``ValueError``
        otherwise); when it is today or within a day of it, rows later than the
        patient's current local time are dropped, so nothing is ever in the future.
    catalog : Catalog | None
        Exercise catalog (iterable of exercises); default
        :func:`analytics.catalog.load_catalog`.

    Returns
    -------
    Cohort
        The patients, programs, sessions (one row per set) and pain tables.
    """
    if n_patients < 1:
        raise ValueError("n_patients must be at least 1")
    if days < 1:
        raise ValueError("days must be at least 1")
    if end_date is None:
        end_date = DEFAULT_END_DATE
    if isinstance(end_date, dt.datetime):
        end_date = end_date.date()
    today = dt.date.today()
    if end_date > today + dt.timedelta(days=1):
        raise ValueError(f"end_date {end_date} is in the future")
    if catalog is None:
        from analytics.catalog import load_catalog

        catalog = load_catalog()

    root = np.random.default_rng(seed)
    cohort_rng = root.spawn(1)[0]
    patient_rngs = root.spawn(n_patients)
    specs = _prepare_catalog(catalog, cohort_rng)
    start = end_date - dt.timedelta(days=days - 1)

    width = max(3, len(str(n_patients)))
    ids = [f"P{i + 1:0{width}d}" for i in range(n_patients)]
    n_names = len(_FIRST_NAMES) * len(_LAST_NAMES)
    picks = cohort_rng.choice(n_names, size=n_patients, replace=n_patients > n_names)
    names = [f"{_FIRST_NAMES[p // len(_LAST_NAMES)]} {_LAST_NAMES[p % len(_LAST_NAMES)]}"
             for p in picks]
    tz_order = cohort_rng.permutation(len(TIMEZONES))
    zones = [TIMEZONES[tz_order[i % len(TIMEZONES)]] for i in range(n_patients)]
    patterns = [ADHERENCE_PATTERNS[i % len(ADHERENCE_PATTERNS)] for i in range(n_patients)]
    clinical = cohort_rng.integers(len(_CLINICAL_NOTES), size=n_patients)
    notes = [f"{_CLINICAL_NOTES[c]} Synthetic profile: {p}." for c, p in
             zip(clinical, patterns, strict=True)]
    n_flagged = int(round(0.15 * n_patients)) if n_patients >= 4 else 0
    flagged = [int(i) for i in
               cohort_rng.choice(n_patients, size=max(n_flagged, 0), replace=False)]

    program_rows: list[dict[str, Any]] = []
    sess_parts: list[dict[str, np.ndarray]] = []
    pain_parts: list[dict[str, np.ndarray]] = []
    sess_ids: list[np.ndarray] = []
    pain_ids: list[np.ndarray] = []
    for i, pid in enumerate(ids):
        change = ("", "end", "add")[i % 3]
        data = _generate_patient(pid, patterns[i], specs, start, days, patient_rngs[i],
                                 change)
        if i in flagged:
            _add_symptoms(data, flagged.index(i), patient_rngs[i])
        program_rows += data.programs
        sess_parts.append(data.sessions)
        pain_parts.append(data.pain)
        sess_ids.append(np.full(len(data.sessions["set_index"]), pid, dtype=object))
        pain_ids.append(np.full(len(data.pain["pain"]), pid, dtype=object))

    patients = pd.DataFrame({"patient_id": ids, "name": names, "timezone": zones,
                             "notes": notes}, columns=list(PATIENT_COLUMNS))
    programs = pd.DataFrame(program_rows, columns=list(PROGRAM_COLUMNS))
    programs = programs.astype({"sets": "Int64", "reps": "Int64", "hold_s": "float64",
                                "times_per_day": "int64", "days_per_week": "int64",
                                "end_date": "str", "side": "str"})

    def cat(parts: list[dict[str, np.ndarray]], key: str) -> np.ndarray:
        return np.concatenate([p[key] for p in parts]) if parts else np.array([])

    rpe = cat(sess_parts, "rpe").astype("int64")
    n_rows = len(rpe)
    sessions = pd.DataFrame({
        "patient_id": np.concatenate(sess_ids),
        "performed_at": _iso(cat(sess_parts, "performed_at")),
        "exercise": cat(sess_parts, "exercise"),
        "sets": pd.array(np.ones(n_rows, dtype="int64"), dtype="Int64"),
        "reps": pd.array(cat(sess_parts, "reps").astype("int64"), dtype="Int64"),
        "hold_s": cat(sess_parts, "hold_s").astype("float64"),
        "side": cat(sess_parts, "side"),
        "rpe": pd.arrays.IntegerArray(np.where(rpe < 0, 0, rpe), rpe < 0),
        "notes": cat(sess_parts, "notes"),
        "set_index": cat(sess_parts, "set_index").astype("int64"),
        "set_type": np.full(n_rows, "normal", dtype=object),
        "source": np.full(n_rows, "synth", dtype=object),
    }, columns=list(SESSION_COLUMNS))
    for col in ("patient_id", "performed_at", "exercise", "side", "notes", "set_type",
                "source"):
        sessions[col] = sessions[col].astype("str")
    pain = pd.DataFrame({
        "patient_id": np.concatenate(pain_ids),
        "reported_at": _iso(cat(pain_parts, "reported_at")),
        "pain": cat(pain_parts, "pain").astype("float64"),
        "context": cat(pain_parts, "context"),
        "symptoms": cat(pain_parts, "symptoms"),
        "notes": cat(pain_parts, "notes"),
    }, columns=list(PAIN_COLUMNS))
    for col in ("patient_id", "reported_at", "context", "symptoms", "notes"):
        pain[col] = pain[col].astype("str")

    if end_date >= today - dt.timedelta(days=1):
        now_utc = dt.datetime.now(dt.UTC)
        tz_by_patient = dict(zip(ids, zones, strict=True))
        sessions = _drop_future(sessions, "performed_at", tz_by_patient, now_utc)
        pain = _drop_future(pain, "reported_at", tz_by_patient, now_utc)
    return Cohort(patients=patients, programs=programs, sessions=sessions, pain=pain)


# --------------------------------------------------------------------------- writing


def _atomic_write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    with atomic_path(path) as tmp:
        if fmt == "csv":
            frame.to_csv(tmp, index=False, lineterminator="\n")
        else:
            frame.to_parquet(tmp, index=False)


def write_cohort(cohort: Cohort, out_dir: str | os.PathLike[str],
                 fmt: Literal["csv", "parquet"] = "csv") -> list[Path]:
    """Write the cohort's four tables to ``out_dir`` (created if needed).

    Files are ``patients``, ``programs``, ``sessions`` and ``pain`` with extension
    ``.csv`` or ``.parquet``; each is written to a temporary file in ``out_dir`` and
    moved into place with :func:`os.replace`, so readers never see a half-written
    file. Blank cells are missing values. Returns the paths written, in that order.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in cohort.tables():
        for other in (f"{name}.csv", f"{name}.parquet", f"{name}.xlsx"):
            if other != f"{name}.{fmt}" and (out / other).exists():
                raise AnalyticsError(
                    f"{out / other} already exists; writing {name}.{fmt} beside it would "
                    "leave two files for one table. Choose an empty folder or remove it.")
    written: list[Path] = []
    for name, frame in cohort.tables().items():
        path = out / f"{name}.{fmt}"
        _atomic_write(frame, path, fmt)
        written.append(path)
    return written
