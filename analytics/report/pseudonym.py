"""Stable pseudonyms for de-identified reports (keyed hash, HMAC-SHA256).

The key comes from the environment variable ``ADHERENCE_PSEUDONYM_KEY`` or, when that is
not set, from the file ``.pseudonym-key`` in the data folder (created with a random key,
readable only by its owner, on first use). The same key always gives the same
pseudonym; without the key a pseudonym cannot be traced back to the patient id. Keep the
key with the data, never with the de-identified reports: whoever holds both the key and
a list of candidate ids can recompute the pseudonyms.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

from analytics.errors import AnalyticsError

KEY_ENV = "ADHERENCE_PSEUDONYM_KEY"
KEY_FILE = ".pseudonym-key"
#: Shortest key accepted from the key file (a new key has 64 hex characters).
MIN_KEY_CHARS = 16


@dataclass(frozen=True)
class Pseudonymizer:
    """Maps patient ids to pseudonyms such as ``Patient 3F9A-21C0-7B2E``."""

    key: bytes

    def __call__(self, patient_id: str) -> str:
        digest = hmac.new(self.key, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()
        # 48 bits: collisions stay unlikely even for caseloads of many thousands.
        return f"Patient {digest[:4].upper()}-{digest[4:8].upper()}-{digest[8:12].upper()}"

    def slug(self, patient_id: str) -> str:
        """A file-name-safe pseudonym (``patient-3f9a-21c0-7b2e``)."""
        return self(patient_id).lower().replace(" ", "-")


def load_pseudonymizer(data_dir: str | Path) -> Pseudonymizer:
    """The pseudonymizer for ``data_dir`` (see the module docstring for the key).

    The key file is created complete or not at all: the key is written to a private
    temporary file which is then linked into place only if no key file exists yet, so
    two processes starting at once agree on one key and a process killed midway never
    leaves an empty key behind (an empty key would make pseudonyms reversible by anyone).

    Raises
    ------
    AnalyticsError
        The key file exists but holds no usable key (too short), or cannot be written.
    """
    env = os.environ.get(KEY_ENV)
    if env:
        return Pseudonymizer(env.encode("utf-8"))
    folder = Path(data_dir)
    path = folder / KEY_FILE
    if not path.exists():
        _create_key_file(folder, path)
    try:
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise AnalyticsError(f"{path}: the pseudonym key cannot be read ({exc}); restore it "
                             f"from a backup or set {KEY_ENV}") from exc
    if len(key) < MIN_KEY_CHARS:
        raise AnalyticsError(f"{path}: the pseudonym key is missing or too short (at least "
                             f"{MIN_KEY_CHARS} characters); restore it from a backup, or "
                             "delete the file to start a new key (pseudonyms will change)")
    return Pseudonymizer(key.encode("utf-8"))


def _create_key_file(folder: Path, path: Path) -> None:
    """Write a new random key to ``path`` unless another process has just done so."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f"{KEY_FILE}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:  # mkstemp: mode 0o600
            handle.write(secrets.token_hex(32))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp_name, path)  # fails if the key file exists: theirs wins
        except FileExistsError:
            pass
        except OSError:  # no hard links on this file system: rename without replacing
            if not path.exists():
                os.replace(tmp_name, path)
    except OSError as exc:
        raise AnalyticsError(f"{path}: cannot create the pseudonym key ({exc.strerror}); "
                             f"set {KEY_ENV} instead") from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
