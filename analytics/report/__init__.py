"""HTML progress reports: build a frozen context from the metrics (``context``), then
render it with one Jinja environment (``render``); ``batch`` writes many at once.

Flow: Dataset + CohortMetrics -> :func:`context.patient_context` /
:func:`context.caseload_context` -> :func:`render.render_patient` /
:func:`render.render_caseload` -> files written atomically by :mod:`.batch`.
"""
