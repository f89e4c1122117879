"""Every threshold the metrics use, in one frozen object, each with its source.

Pass a :class:`Settings` explicitly (``Settings()`` gives the defaults; change one with
``dataclasses.replace(settings, adherence_threshold_pct=70)``). Nothing here is global.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Settings:
    """Thresholds and windows for metrics and alerts.

    Attributes
    ----------
    session_gap_min : float
        Logged rows within this many minutes of the previous row form one session
        (product definition; 90 minutes keeps a morning routine together while
        separating morning from evening sessions).
    adherence_threshold_pct : float
        A patient is ``adherent`` at or above this share of prescribed sessions.
        Default 80%, a common cut-off for home-exercise adherence; many studies use
        70%, so it is configurable (a product choice, not a clinical threshold).
    pain_window_days : int
        Local calendar days in the pain baseline and recent windows (7).
    pain_min_span_days : int
        Fewer days than this between the first and last report's day gives
        ``insufficient_data`` (14).
    pain_min_reports : int
        Fewer reports than this in either window gives ``insufficient_data`` (2).
    pain_improved_points, pain_improved_pct : float
        Clinically important improvement: a fall of at least 2 points or 30% on the
        0-10 numeric rating scale (Farrar JT et al. 2001, Pain 94:149-158; Ostelo RW
        et al. 2008, Spine 33:90-94).
    pain_worse_points : float
        A rise of at least 2 points is reported as ``worse`` (same sources, applied
        symmetrically).
    pain_high : float
        A single report at or above this rating raises ``pain_high`` (7-10 is
        "severe" on the 0-10 scale; Serlin RC et al. 1995, Pain 61:277-284).
    pain_rise_points : float
        ``pain_rise`` when the 7-day rolling mean of daily means is this many points
        above that of the 7 days before it (2, the same clinically important change).
    no_activity_days : int
        ``no_activity`` for every run of at least this many program days without a
        counted session (3).
    low_adherence_weeks : int
        ``low_adherence`` after this many consecutive ISO weeks below the adherence
        threshold (2).
    early_hour : int
        Sessions starting before this local hour count as "early" in the timing view
        (8; one article advises against stretching right after waking).
    min_weeks_association : int
        Weeks needed before adherence and pain are correlated (4).
    """

    session_gap_min: float = 90.0
    adherence_threshold_pct: float = 80.0
    pain_window_days: int = 7
    pain_min_span_days: int = 14
    pain_min_reports: int = 2
    pain_improved_points: float = 2.0
    pain_improved_pct: float = 30.0
    pain_worse_points: float = 2.0
    pain_high: float = 7.0
    pain_rise_points: float = 2.0
    no_activity_days: int = 3
    low_adherence_weeks: int = 2
    early_hour: int = 8
    min_weeks_association: int = 4

    def as_dict(self) -> dict[str, float | int]:
        """All settings by name (for the report's methods section)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


DEFAULT_SETTINGS = Settings()
