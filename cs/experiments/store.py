"""The SQLite results store of a phase-transition study: the source of truth.

One file holds the study's definition and one row per finished trial.  It is
written by one process only (the coordinator of :func:`cs.experiments.run_study`),
in WAL mode, one transaction per trial, so that a run killed at any moment
(``kill -9`` included) leaves every finished trial on disk and nothing half
written; running the same study again skips what is done.

``synchronous=NORMAL`` is used: in WAL mode it survives any crash of the
process (what a study meets in practice) and may lose only the last
transactions on a power cut, at a tenth of the cost of ``FULL`` per commit.

Layout
------
``meta(key, value)``
    ``definition`` (the study as canonical JSON), ``hash``, ``created``,
    ``version`` (the package version that created the file).
``trials``
    One row per trial, keyed by ``(cell, trial)``: ``seed``, ``error_X``,
    ``error_L``, ``error_S``, ``rel_residual``, ``iterations``, ``seconds``,
    ``converged``, ``success``, ``reason``, ``version``, ``host``,
    ``finished`` (UTC time).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path

__all__ = ["Store", "StoreError", "TRIAL_FIELDS", "definition_hash"]

#: The columns of a trial row, in order (``cell`` and ``trial`` are the key).
TRIAL_FIELDS = ("cell", "trial", "seed", "error_X", "error_L", "error_S", "rel_residual",
                "iterations", "seconds", "converged", "success", "reason", "version", "host",
                "finished")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    cell INTEGER NOT NULL, trial INTEGER NOT NULL, seed TEXT NOT NULL,
    error_X REAL, error_L REAL, error_S REAL, rel_residual REAL,
    iterations INTEGER, seconds REAL, converged INTEGER, success INTEGER NOT NULL,
    reason TEXT, version TEXT, host TEXT, finished TEXT,
    PRIMARY KEY (cell, trial)
);
"""

_SQLITE_MAGIC = b"SQLite format 3\x00"


def definition_hash(definition):
    """SHA-256 (hex) of a definition's canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class StoreError(ValueError):
    """A store that cannot be used: not SQLite, not writable, or another study's."""


def _first_difference(ours, theirs, prefix=""):
    """The first field (dotted path) where two definitions differ, with both values."""
    for key in sorted(set(ours) | set(theirs)):
        a, b = ours.get(key, "<absent>"), theirs.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            found = _first_difference(a, b, f"{prefix}{key}.")
            if found:
                return found
        elif a != b:
            return f"{prefix}{key}", a, b
    return None


class Store:
    """A study's results file (SQLite, WAL mode).

    Parameters
    ----------
    path : str or Path
        The file.  Created (with ``definition``) when absent.
    definition : dict, optional
        The study's definition (JSON-serialisable).  When the file exists it
        must hold the same definition, else :class:`StoreError` names the
        first field that differs.  Without it the file must exist (read-only
        use: status, export, plots).
    readonly : bool
        Open without write access (no WAL checkpoint, no schema changes).

    Raises
    ------
    StoreError
        The path is a folder, is not a SQLite file, cannot be created or
        written, or holds another study.
    """

    def __init__(self, path, definition=None, *, readonly=False):
        self.path = Path(path)
        exists = self.path.exists()
        if self.path.is_dir():
            raise StoreError(f"store={str(self.path)!r} is a folder; expected a file")
        if exists:
            with open(self.path, "rb") as fh:
                head = fh.read(16)
            if head and head != _SQLITE_MAGIC:
                raise StoreError(f"store={str(self.path)!r} is not a SQLite database")
        elif definition is None:
            raise StoreError(f"store={str(self.path)!r} does not exist")
        else:
            parent = self.path.parent
            if not parent.is_dir():
                raise StoreError(f"store={str(self.path)!r}: the folder {str(parent)!r} does not exist")
            if not os.access(parent, os.W_OK):
                raise StoreError(f"store={str(self.path)!r}: the folder {str(parent)!r} is not writable")
        if exists and not readonly and not os.access(self.path, os.W_OK):
            raise StoreError(f"store={str(self.path)!r} is not writable")
        self.readonly = readonly
        try:
            if readonly:
                self.conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            else:
                self.conn = sqlite3.connect(self.path, timeout=30.0)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")
                self.conn.executescript(_SCHEMA)
            meta = dict(self.conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as err:
            what = "is not a usable SQLite database" if exists else "cannot be created"
            raise StoreError(f"store={str(self.path)!r} {what} ({err})") from None
        if "definition" in meta:
            self.definition = json.loads(meta["definition"])
            self.hash = meta.get("hash")
            self.version = meta.get("version")
            if definition is not None:
                self._check_same(definition)
        elif definition is None:
            raise StoreError(f"store={str(self.path)!r} holds no study definition")
        elif readonly:
            raise StoreError(f"store={str(self.path)!r} holds no study definition")
        else:
            self._create(definition)

    def _create(self, definition):
        from .. import __version__

        self.definition = json.loads(json.dumps(definition))
        self.hash = definition_hash(self.definition)
        self.version = __version__
        with self.conn:
            self.conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
                ("definition", json.dumps(self.definition, sort_keys=True)),
                ("hash", str(self.hash)),
                ("created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
                ("version", __version__)])

    def _check_same(self, definition):
        ours = json.loads(json.dumps(definition))
        diff = _first_difference(ours, self.definition)
        if diff is not None:
            field, new, old = diff
            raise StoreError(f"store={str(self.path)!r} holds another study: its {field} is "
                             f"{json.dumps(old)}, this study's is {json.dumps(new)}")

    # ------------------------------------------------------------------ rows

    def add(self, row):
        """Insert one finished trial and commit it (one transaction).

        A trial already present is left as it is (a retried batch may
        deliver it twice); returns True when the row was new.
        """
        values = tuple(row.get(name) for name in TRIAL_FIELDS)
        with self.conn:
            cur = self.conn.execute(
                f"INSERT OR IGNORE INTO trials ({', '.join(TRIAL_FIELDS)}) "
                f"VALUES ({', '.join('?' * len(TRIAL_FIELDS))})", values)
        return cur.rowcount == 1

    def done(self):
        """The ``(cell, trial)`` pairs already stored."""
        return set(self.conn.execute("SELECT cell, trial FROM trials").fetchall())

    def count(self):
        return int(self.conn.execute("SELECT COUNT(*) FROM trials").fetchone()[0])

    def rows(self, fields=TRIAL_FIELDS):
        """All trials as dicts, ordered by ``(cell, trial)``."""
        for name in fields:
            if name not in TRIAL_FIELDS:
                raise ValueError(f"fields must be among {list(TRIAL_FIELDS)}, got {name!r}")
        cur = self.conn.execute(f"SELECT {', '.join(fields)} FROM trials ORDER BY cell, trial")
        return [dict(zip(fields, values)) for values in cur.fetchall()]

    def cell_outcomes(self):
        """``{cell: (trials stored, successes)}``."""
        cur = self.conn.execute("SELECT cell, COUNT(*), SUM(success) FROM trials GROUP BY cell")
        return {cell: (int(n), int(s or 0)) for cell, n, s in cur.fetchall()}

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"Store({str(self.path)!r}, trials={self.count()})"
