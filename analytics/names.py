"""Normalising exercise names so that people's spellings can be compared.

Two levels are used by the linker (see :mod:`analytics.link`) and by the catalog
check that aliases do not collide (see :mod:`analytics.catalog`):

1. :func:`normalize_name` - case, accents, punctuation, hyphens and underscores
   removed, ``&`` read as "and", whitespace collapsed ("Knee-to-Chest!" ->
   ``"knee to chest"``).
2. :func:`fold_plurals` - the normalised name with plural word endings folded
   ("knees to chest stretches" -> ``"knee to chest stretch"``).
"""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalize_name(name: object) -> str:
    """Return ``name`` lower-cased with punctuation, hyphens and accents removed.

    Non-strings (``None``, ``NaN``) give ``""``.

    >>> normalize_name("  Knee-to-Chest  (single) ")
    'knee to chest single'
    >>> normalize_name("Cat/Cow & Bird_Dog")
    'cat cow and bird dog'
    """
    if not isinstance(name, str):
        return ""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("&", " and ").replace("'", "").replace("\u2019", "")
    return _NON_ALNUM.sub(" ", text).strip()


def _fold_word(word: str) -> str:
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "sses", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def fold_plurals(normalized: str) -> str:
    """Fold plural endings of every word of an already normalised name.

    >>> fold_plurals("knees to chest stretches")
    'knee to chest stretch'
    >>> fold_plurals("shoulder press")
    'shoulder press'
    """
    return " ".join(_fold_word(w) for w in normalized.split())
