"""Spine exercise adherence analytics.

``analytics.load(path)`` reads, validates and links a data folder (see
:mod:`analytics.dataset`); the exercise catalog is :func:`analytics.catalog.load_catalog`.
"""

from __future__ import annotations

from analytics.dataset import Dataset, load
from analytics.errors import AnalyticsError, DataFileError

__all__ = ["AnalyticsError", "DataFileError", "Dataset", "load"]
