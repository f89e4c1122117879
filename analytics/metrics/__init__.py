"""Metrics: pure functions from validated, linked tables to tidy DataFrames.

Flow inside: :mod:`.calendar` (as-of date, periods, prescribed days) ->
:mod:`.sessions` (rows -> sessions) -> :mod:`.adherence` (daily, weekly, per patient,
streaks); :mod:`.pain`, :mod:`.holds`, :mod:`.dose`, :mod:`.timing`, :mod:`.alerts` and
:mod:`.summary` (the cohort summary) build on them. Every function works on a whole
cohort at once (grouped, vectorised), never one patient at a time.
"""
