"""The SQLite results store: one committed transaction per trial, resume, refusal of other studies."""

import sqlite3

import pytest

from cs.experiments.store import TRIAL_FIELDS, Store, StoreError, definition_hash

DEFINITION = {"problem": "sparse", "shape": [64], "trials": 3, "options": {"tol": 1e-4}}


def row(cell, trial, success=1):
    return dict(cell=cell, trial=trial, seed=str(1000 * cell + trial), error_X=1e-9, error_L=None,
                error_S=None, rel_residual=1e-10, iterations=12, seconds=0.01, converged=1,
                success=success, reason="ok", version="0.1.0", host="test", finished="now")


def test_each_trial_is_committed_at_once_in_wal_mode(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path, DEFINITION) as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.add(row(0, 1)) is True
        # another connection (another process, after a kill -9) already sees the trial
        other = sqlite3.connect(path)
        assert other.execute("SELECT cell, trial, iterations FROM trials").fetchall() == [(0, 1, 12)]
        other.close()
        assert store.add(row(0, 1, success=0)) is False   # a trial delivered twice is stored once
        store.add(row(1, 0, success=0))
        store.add(row(0, 0))
        assert store.done() == {(0, 0), (0, 1), (1, 0)}
        assert store.count() == 3
        assert store.cell_outcomes() == {0: (2, 2), 1: (1, 0)}
        rows = store.rows()
        assert [(r["cell"], r["trial"]) for r in rows] == [(0, 0), (0, 1), (1, 0)]
        assert set(rows[0]) == set(TRIAL_FIELDS) and rows[1]["success"] == 1
        assert store.hash == definition_hash(DEFINITION)


def test_reopening_resumes_and_another_definition_is_refused_by_field(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path, DEFINITION) as store:
        store.add(row(0, 0))
    with Store(path, dict(DEFINITION)) as store:
        assert store.done() == {(0, 0)} and store.definition == DEFINITION
    with pytest.raises(StoreError, match="its trials is 3, this study's is 5"):
        Store(path, dict(DEFINITION, trials=5))
    with pytest.raises(StoreError, match=r"options\.tol is 0.0001, this study's is 0.001"):
        Store(path, dict(DEFINITION, options={"tol": 1e-3}))
    with Store(path, readonly=True) as store:
        assert store.count() == 1
        with pytest.raises(sqlite3.OperationalError):
            store.add(row(0, 1))


def test_bad_paths(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database")
    with pytest.raises(StoreError, match="is not a SQLite database"):
        Store(junk, DEFINITION)
    with pytest.raises(StoreError, match="is a folder"):
        Store(tmp_path, DEFINITION)
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "missing" / "s.sqlite", DEFINITION)
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "absent.sqlite")
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="holds no study definition"):
        Store(empty)
    with pytest.raises(ValueError, match="fields must be among"):
        Store(tmp_path / "s.sqlite", DEFINITION).rows(("cell", "nope"))


def test_definition_hash_is_canonical():
    assert definition_hash({"a": 1, "b": [1, 2]}) == definition_hash({"b": [1, 2], "a": 1})
    assert definition_hash({"a": 1}) != definition_hash({"a": 2})
