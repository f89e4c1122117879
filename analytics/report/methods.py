"""The report's methods section: every definition and threshold in plain words, with
its source. Values are read from the :class:`analytics.settings.Settings` in use."""

from __future__ import annotations

from dataclasses import dataclass

from analytics.settings import Settings

FARRAR = ("Farrar JT et al. Clinical importance of changes in chronic pain intensity "
          "measured on an 11-point numerical pain rating scale. Pain 2001;94:149-158.")
OSTELO = ("Ostelo RW et al. Interpreting change scores for pain and functional status in "
          "low back pain. Spine 2008;33:90-94.")
SERLIN = ("Serlin RC et al. When is cancer pain mild, moderate or severe? Pain "
          "1995;61:277-284.")
HEALTHY_BACK = "Video Series: Exercises to Keep a Healthy Back (source article)"
PRODUCT = "Product definition (documented in analytics.metrics)"


@dataclass(frozen=True)
class Method:
    """One definition: ``term``, ``text`` (plain words) and ``source``."""

    term: str
    text: str
    source: str


def methods(settings: Settings) -> tuple[Method, ...]:
    """All definitions used by the report, in reading order."""
    s = settings
    return (
        Method("Period", "From the first day of the program (or the chosen start) to the "
               "earlier of the program's end and the as-of day, the last day with any "
               "logged data in the whole data set. Days are the patient's local calendar "
               "days; weeks start on Monday.", PRODUCT),
        Method("Session", f"Logged exercises less than {s.session_gap_min:g} minutes apart "
               "form one session. A session counts when it contains at least one "
               "prescribed exercise and is complete when it contains all of that day's "
               "prescribed exercises.", PRODUCT),
        Method("Adherence", "Sessions done divided by sessions prescribed over the period. "
               "Each day counts at most the sessions prescribed for it (times per day). "
               "Programs done fewer than 7 days a week are judged by a weekly quota "
               "(days per week x times per day, prorated for partial weeks).", PRODUCT),
        Method("Adherent", f"Adherence of at least {s.adherence_threshold_pct:g}%. Many "
               "studies use 70% or 80%; the threshold is a setting.", PRODUCT),
        Method("Streak", "Consecutive days with at least one counted session; the current "
               "streak includes the last day of the period or the day before.", PRODUCT),
        Method("Dose and hold fidelity", "Repetitions x sets done against the prescription "
               "(capped at 100% for adherence, uncapped to show extra work); hold fidelity is "
               "the mean hold achieved divided by the prescribed hold.", PRODUCT),
        Method("Hold-time progression", "Per exercise with a hold target: best and mean hold "
               "per day, the slope in seconds per week (Theil-Sen: median of all pairwise "
               "slopes, robust to odd days), personal best and the first day the target "
               "was reached.", PRODUCT),
        Method("Pain baseline and recent pain", f"Mean of all reports in the first "
               f"{s.pain_window_days} local days from the first report, and in the last "
               f"{s.pain_window_days} days up to the last report.", PRODUCT),
        Method("Clinically important change in pain", f"Improved: a fall of at least "
               f"{s.pain_improved_points:g} points or {s.pain_improved_pct:g}% on the 0-10 "
               f"scale. Worse: a rise of at least {s.pain_worse_points:g} points. Judged only "
               f"when the reports span at least {s.pain_min_span_days} days with at least "
               f"{s.pain_min_reports} reports in each window.", f"{FARRAR} {OSTELO}"),
        Method("High pain", f"A rating of {s.pain_high:g} or more (severe on the 0-10 "
               "scale).", SERLIN),
        Method("Pain rise", f"The 7-day average of daily pain is at least "
               f"{s.pain_rise_points:g} points above the 7 days before it.",
               f"{PRODUCT}; size of change from {FARRAR}"),
        Method("Red-flag symptoms", "Numbness, tingling or weakness: stop and contact a spine "
               "professional. Changes in bladder or bowel control or numbness in the saddle "
               "area: seek medical care now. The report flags what was reported; it does "
               "not diagnose.", HEALTHY_BACK),
        Method("No activity", f"{s.no_activity_days} or more program days in a row without a "
               "counted session.", PRODUCT),
        Method("Low adherence", f"{s.low_adherence_weeks} or more weeks in a row below "
               f"{s.adherence_threshold_pct:g}%.", PRODUCT),
        Method("Adherence and pain", "Spearman correlation between weekly adherence and the "
               f"next week's change in pain, shown from {s.min_weeks_association} weeks of "
               "data. It is an association, not a cause.", PRODUCT),
    )
