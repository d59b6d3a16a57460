"""Fixtures of central's tests: a migrated database on SQLite and, where reachable, PostgreSQL."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from central_app import PASSWORD, make_central_app
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import OperationalError

from central.db.engine import make_engine
from central.db.migrate import migrated_scratch_schema, upgrade

POSTGRES_URL = os.environ.get("ANPR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied per test: migrating once keeps the suite fast."""
    path = tmp_path_factory.mktemp("template") / "central.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.orig}")
    yield engine
    engine.dispose()


def _postgres_engine(admin: Engine) -> Iterator[Engine]:
    with migrated_scratch_schema(admin, POSTGRES_URL, "t") as engine:
        yield engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """A migrated, empty database of each supported kind."""
    if request.param == "sqlite":
        path = tmp_path / "central.db"
        shutil.copyfile(sqlite_template, path)
        sqlite_engine = make_engine(f"sqlite:///{path}")
        yield sqlite_engine
        sqlite_engine.dispose()
    else:
        yield from _postgres_engine(request.getfixturevalue("postgres_admin"))


@pytest.fixture
def postgres_engine(postgres_admin: Engine) -> Iterator[Engine]:
    """PostgreSQL only, for what SQLite does not have (partitions, LISTEN/NOTIFY); mark the test
    `postgres`."""
    yield from _postgres_engine(postgres_admin)


@pytest.fixture
def sqlite_engine(tmp_path: Path, sqlite_template: Path) -> Iterator[Engine]:
    """SQLite only, for tests about the app rather than the database."""
    path = tmp_path / "central.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def password_hash() -> str:
    """Argon2 is slow on purpose; the test users' hash uses cheap parameters, which verification
    reads from the hash itself, so logins in tests are fast while the code path is the real one."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


@pytest.fixture
def api(engine: Engine, tmp_path: Path, password_hash: str) -> Iterator[TestClient]:
    """The HTTP app (no MQTT) on each database, with one user per role."""
    with TestClient(make_central_app(engine, tmp_path / "data", password_hash)) as client:
        yield client


@pytest.fixture
def sqlite_api(sqlite_engine: Engine, tmp_path: Path, password_hash: str) -> Iterator[TestClient]:
    with TestClient(make_central_app(sqlite_engine, tmp_path / "data", password_hash)) as client:
        yield client
