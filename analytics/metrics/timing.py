"""Time of day: when sessions start, and how often stretching is done early.

The source articles disagree on timing (see :data:`TIMING_ADVICE`), so this view is
**information, never an alert**: it shows when patients stretch next to both pieces of
advice and leaves the judgement to the clinician.

Definitions (product definitions):

* ``start_hour``: the local wall-clock time of a session's first row in hours
  (07:30 -> 7.5), in the patient's time zone (a UTC timestamp is converted on loading).
* A **stretch session** contains at least one row whose catalog exercise has kind
  ``stretch`` (unlinked rows have no kind).
* **Early**: ``start_hour < Settings.early_hour`` (8).
"""

from __future__ import annotations

import pandas as pd

from analytics.catalog import Catalog
from analytics.settings import Settings
from analytics.vector import named_agg, sort_frame

#: The two articles' advice on when to exercise, verbatim, shown as information only.
TIMING_ADVICE: tuple[dict[str, str], ...] = (
    {
        "source": 'Dr. Ben Kim, "Healthy Spine Exercises"',
        "advice": (
            "It's best to save these spinal stretches for later on in the day, and optimally, "
            "after a good workout that has your heart pumping generous amounts of blood "
            "through all of your tissues. Generally, blood flow is at its worst first thing "
            "in the morning, so stretching major muscles and ligaments upon awakening comes "
            "with increased risk of experiencing strains and sprains."
        ),
    },
    {
        "source": '"Video Series: Exercises to Keep a Healthy Back"',
        "advice": (
            "These back exercises and stretches can be easily added to your normal exercise "
            "routine or performed when you first get up every day."
        ),
    },
)

SESSION_TIMING_COLUMNS = ("patient_id", "session_id", "day", "start_local", "start_hour",
                          "has_stretch", "early")
PATIENT_TIMING_COLUMNS = ("patient_id", "n_sessions", "median_start_hour",
                          "n_stretch_sessions", "early_stretch_share_pct")


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="object") for c in columns})


def session_timing(sessions: pd.DataFrame, rows: pd.DataFrame, catalog: Catalog,
                   settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Start time of each session and each patient's early-stretching share.

    Parameters
    ----------
    sessions : DataFrame
        :func:`analytics.metrics.sessions.session_table` (not modified).
    rows : DataFrame
        :func:`analytics.metrics.sessions.assign_sessions` (not modified).
    catalog : Catalog
        Gives each exercise's kind.
    settings : Settings
        ``early_hour``.

    Returns
    -------
    per_session : pandas.DataFrame
        Sorted by ``patient_id``, ``session_id``: ``patient_id``; ``session_id`` (int);
        ``day`` (local day, midnight timestamp); ``start_local`` (local naive wall
        time); ``start_hour`` (float hours after local midnight, e.g. 7.5 for 07:30);
        ``has_stretch`` (bool, the session contains a catalog exercise of kind
        stretch); ``early`` (bool, ``start_hour < settings.early_hour``).
    per_patient : pandas.DataFrame
        Sorted by ``patient_id``: ``patient_id``; ``n_sessions`` (int, all sessions);
        ``median_start_hour`` (float hours); ``n_stretch_sessions`` (int);
        ``early_stretch_share_pct`` (float %, ``100 x`` early stretch sessions /
        stretch sessions; null when there is no stretch session).
    """
    if sessions.empty:
        return _empty(SESSION_TIMING_COLUMNS), _empty(PATIENT_TIMING_COLUMNS)
    kinds = {ex.id: ex.kind for ex in catalog}
    stretch = [i for i, kind in kinds.items() if kind == "stretch"]
    is_stretch = rows["exercise_id"].isin(stretch).to_numpy(dtype=bool)
    stretch_ids = pd.Index(rows.loc[is_stretch, "session_id"].unique())

    out = sessions[["patient_id", "session_id", "day", "start_local"]].copy()
    start = pd.to_datetime(out["start_local"])
    out["start_hour"] = ((start - start.dt.normalize()) / pd.Timedelta(hours=1)).astype("float64")
    out["has_stretch"] = out["session_id"].isin(stretch_ids).astype(bool)
    out["early"] = (out["start_hour"] < settings.early_hour).astype(bool)
    out = sort_frame(out, ["patient_id", "session_id"]).reset_index(drop=True)

    per = named_agg(out.assign(early_stretch=out["early"] & out["has_stretch"])
                    .groupby("patient_id", sort=True),
                    n_sessions=("session_id", "size"), median_start_hour=("start_hour", "median"),
                    n_stretch_sessions=("has_stretch", "sum"),
                    n_early_stretch=("early_stretch", "sum")).reset_index()
    per["n_sessions"] = per["n_sessions"].astype("int64")
    per["n_stretch_sessions"] = per["n_stretch_sessions"].astype("int64")
    stretch = per["n_stretch_sessions"].where(per["n_stretch_sessions"] > 0).astype("float64")
    per["early_stretch_share_pct"] = 100.0 * per["n_early_stretch"].astype("float64") / stretch
    return out[list(SESSION_TIMING_COLUMNS)], per[list(PATIENT_TIMING_COLUMNS)]
