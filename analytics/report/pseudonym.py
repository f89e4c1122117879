"""Stable pseudonyms for de-identified reports (keyed hash, HMAC-SHA256).

The key comes from the environment variable ``ADHERENCE_PSEUDONYM_KEY`` or, when that is
not set, from the file ``.pseudonym-key`` in the data folder (created with a random key,
readable only by its owner, on first use). The same key always gives the same
pseudonym; without the key a pseudonym cannot be traced back to the patient id.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

KEY_ENV = "ADHERENCE_PSEUDONYM_KEY"
KEY_FILE = ".pseudonym-key"


@dataclass(frozen=True)
class Pseudonymizer:
    """Maps patient ids to pseudonyms such as ``Patient 3F9A-21C0``."""

    key: bytes

    def __call__(self, patient_id: str) -> str:
        digest = hmac.new(self.key, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()
        return f"Patient {digest[:4].upper()}-{digest[4:8].upper()}"

    def slug(self, patient_id: str) -> str:
        """A file-name-safe pseudonym (``patient-3f9a-21c0``)."""
        return self(patient_id).lower().replace(" ", "-")


def load_pseudonymizer(data_dir: str | Path) -> Pseudonymizer:
    """The pseudonymizer for ``data_dir`` (see the module docstring for the key)."""
    env = os.environ.get(KEY_ENV)
    if env:
        return Pseudonymizer(env.encode("utf-8"))
    path = Path(data_dir) / KEY_FILE
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(secrets.token_hex(32))
    return Pseudonymizer(path.read_text(encoding="ascii").strip().encode("utf-8"))
