"""Safe file writing: write a temporary file beside the target, then rename it.

An interrupted run therefore leaves every file either old or new, never partial; at
most a temporary file (``.NAME.XXXXXXXX.tmp``) is left beside it, which
:func:`remove_stale_temporaries` removes on a later run.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

#: Age (seconds) after which a leftover temporary file is taken to be abandoned: writing
#: one file takes seconds, so a temporary this old belongs to a killed process.
STALE_AFTER_S: float = 600.0


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success it replaces ``path``.

    The new file gets the usual permissions (``0o666`` minus the umask), not the
    private ``0o600`` of a temporary file. On any error the temporary file is removed
    and ``path`` is left untouched. A killed process therefore never leaves a partial
    ``path``. With ``durable`` the data is also flushed to disk (``fsync``) before the
    rename and the rename itself after it, so that a power cut cannot leave an empty
    file either (used for the data folder's tables; reports can be written again).
    """
    target = Path(path)
    if target.exists() and not target.is_file():
        # Renaming over it would replace a folder's entry such as /dev/full or a FIFO.
        raise OSError(errno.EINVAL, "exists and is not a regular file (left untouched)",
                      str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=temporary_prefix(target.name), suffix=".tmp",
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        if durable:
            _fsync(tmp)
        os.replace(tmp, target)
        if durable:
            _fsync(target.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync(path: Path) -> None:
    """Flush a file's (or a folder's entries') data to disk; a no-op where the system
    cannot (folders on Windows)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def temporary_prefix(name: str) -> str:
    """The name prefix of :func:`atomic_path`'s temporary files for a target ``name``
    (``.sessions.csv.`` for ``sessions.csv``); they end in ``.tmp``."""
    return f".{name}."


def remove_stale_temporaries(folder: str | os.PathLike[str], names: Iterable[str], *,
                             older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove temporary files that :func:`atomic_path` left in ``folder`` for targets
    ``names`` because their writer was killed; returns the removed paths.

    Only temporaries last modified more than ``older_than_s`` seconds ago are removed, so
    that a writer still at work keeps its file (callers that hold a lock every writer of
    those targets takes may pass 0). Files that vanish meanwhile are ignored.
    """
    base = Path(folder)
    if not base.is_dir():
        return []
    limit = time.time() - older_than_s
    removed: list[Path] = []
    for name in names:
        for tmp in base.glob(f"{glob.escape(temporary_prefix(name))}*.tmp"):
            with contextlib.suppress(OSError):
                if tmp.is_file() and tmp.stat().st_mtime <= limit:
                    tmp.unlink()
                    removed.append(tmp)
    return removed


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
