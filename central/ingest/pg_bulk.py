"""PostgreSQL bulk insert through unnest(): one short statement with one array per column.

A multi-row VALUES statement of 500 rows x 25 columns is a 12,500-placeholder query that the
driver re-parses for every batch; `INSERT ... SELECT * FROM unnest(%(a)s::type[], ...)` is the
same small statement every time (prepared once) and the arrays travel in binary.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session


@cache
def unnest_insert_sql(table: Table, conflict_column: str | None, returning: str | None) -> str:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    columns = [column.name for column in table.columns]
    # %(name)b: binary parameters; a JPEG in a text-format array would travel hex-escaped.
    # Arrays carry the base type; the column's collation applies when the value lands in it.
    casts = ", ".join(
        f"%({name})b::{table.columns[name].type.compile(dialect).split(' COLLATE')[0]}[]" for name in columns
    )
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({casts})"
    if conflict_column is not None:
        sql += f" ON CONFLICT ({conflict_column}) DO NOTHING"
    return f"{sql} RETURNING {returning}" if returning else sql


def insert_unnest(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    conflict_column: str | None,
    returning: str | None = None,
) -> list[Any]:
    """Insert rows (dicts with every column), skipping conflicts on `conflict_column` (None: a
    conflict raises); returns the `returning` values."""
    if not rows:
        return []
    params = {column.name: [row.get(column.name) for row in rows] for column in table.columns}
    result = session.connection().exec_driver_sql(
        unnest_insert_sql(table, conflict_column, returning), params
    )
    return [row[0] for row in result] if returning else []
