"""How the flat import writes: bulk inserts with reserved ids, bulk updates with history.

Creates are written with raw ``executemany`` (SQLite) or ``COPY`` (PostgreSQL) on the connection of the
surrounding Django transaction, so the database CHECK constraints, keys and indexes still guard every
value; updates go through the ORM and django-simple-history. Used by :mod:`.flat_import` only.
"""

from __future__ import annotations

import copy
import io
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
from django.db import connection, models

from ..models import ImportBatch, PainAssessment

_CHUNK = 100_000
_SQLITE_CACHE_KIB = 512 * 1024


def fetch_frame(queryset: models.QuerySet, lookup: str, keys: Iterable, columns: list[str]) -> pd.DataFrame:
    """``queryset.filter(<lookup>__in=keys)`` as a frame, in chunks the database accepts."""
    keys = list(keys)
    step = 900 if connection.vendor == "sqlite" else 20_000
    rows: list[tuple] = []
    for start in range(0, len(keys), step):
        rows += queryset.filter(**{f"{lookup}__in": keys[start : start + step]}).values_list(*columns)
    return pd.DataFrame.from_records(rows, columns=columns)


def same_values(new: pd.Series, old: pd.Series, *, tolerance: float | None = None) -> np.ndarray:
    """Element-wise equality where missing equals missing (and floats within a relative tolerance)."""
    both_missing = new.isna().to_numpy() & old.isna().to_numpy()
    if tolerance is not None:
        a, b = new.astype("float64").to_numpy(), old.astype("float64").to_numpy()
        with np.errstate(invalid="ignore"):
            close = np.isclose(a, b, rtol=tolerance, atol=0.0)
        return both_missing | np.nan_to_num(close, nan=False).astype(bool)
    a = new.astype("object").where(new.notna(), None).to_numpy()
    b = old.astype("object").where(old.notna(), None).to_numpy()
    equal = a == b
    return both_missing | (equal & new.notna().to_numpy() & old.notna().to_numpy())


def _reserve_ids(model: type[models.Model], count: int) -> int:
    """First of ``count`` consecutive primary keys nobody else will use (tables are locked)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # AUTOINCREMENT never reuses an id, not even a deleted one (history rows still name it).
            cursor.execute(
                f"SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
                f"coalesce((SELECT max(id) FROM {table}), 0))",
                [table],
            )
            return int(cursor.fetchone()[0]) + 1
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s)", [sequence])
        first = int(cursor.fetchone()[0])
        if count > 1:
            cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
        return first


def lock_for_bulk_insert(models_: Iterable[type[models.Model]]) -> None:
    """On PostgreSQL keep other writers out of the tables whose ids we reserve (SQLite's
    immediate transaction already holds the database's write lock). On SQLite give this connection
    a page cache that holds the indexes being filled (the 2 MB default spills them to disk over and
    over); the setting lasts until the connection closes."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = -{_SQLITE_CACHE_KIB}")
    if connection.vendor == "postgresql":
        tables = ", ".join(m._meta.db_table for m in models_)
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")


class PostgresBulkLoad:
    """On PostgreSQL, check keys and build indexes of a large load once, set-based, at its end.

    Django declares foreign keys ``DEFERRABLE INITIALLY DEFERRED``: PostgreSQL then runs one trigger
    per row and key at commit, and maintains every index row by row, which for a million assessments
    costs many times the load itself. When the load is large (at least :attr:`THRESHOLD` rows, and
    no smaller than what the assessment table already holds) the foreign keys, unique constraints and
    secondary indexes of the tables being filled are dropped inside the import's transaction and
    created again, with their exact definitions, before it commits: creating an index sorts once,
    adding a foreign key or unique constraint validates every row in one pass — the bulk-loading
    advice of the PostgreSQL manual ("Populating a Database"). Any violation aborts the whole import.
    The tables stay locked meanwhile and nobody else ever sees them without their keys (DDL is
    transactional in PostgreSQL). Primary keys stay.
    """

    THRESHOLD = 20_000

    def __init__(self, models_: Iterable[type[models.Model]], rows: int):
        self.tables = [m._meta.db_table for m in models_]
        self.active = connection.vendor == "postgresql" and rows >= self.THRESHOLD and rows >= self._stored_rows()
        self.constraints: list[tuple[str, str, str]] = []
        self.indexes: list[str] = []

    def _stored_rows(self) -> int:
        if connection.vendor != "postgresql":
            return 0
        with connection.cursor() as cursor:
            cursor.execute("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass", [PainAssessment._meta.db_table])
            return int(cursor.fetchone()[0])

    def __enter__(self) -> PostgresBulkLoad:
        if not self.active:
            return self
        with connection.cursor() as cursor:
            # Rows written earlier in this transaction (the import batch) hold deferred key checks,
            # and PostgreSQL alters no table with checks pending: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "WHERE c.contype IN ('f', 'u') AND c.conrelid = ANY(%s::regclass[]) ORDER BY c.contype DESC, c.conname",
                [self.tables],
            )
            self.constraints = cursor.fetchall()  # unique constraints first: foreign keys come back after them
            cursor.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
                [self.tables],
            )
            names_and_definitions = cursor.fetchall()
            self.indexes = [definition for _, definition in names_and_definitions]
            for table, name, _ in reversed(self.constraints):
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
            for name, _ in names_and_definitions:
                cursor.execute(f"DROP INDEX {name}")
        return self

    def __exit__(self, kind, value, traceback) -> None:  # noqa: ANN001
        if not self.active or kind is not None:
            return  # on an error the transaction rolls back and the keys come back with it
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for definition in self.indexes:
                cursor.execute(definition)
            for table, name, definition in self.constraints:
                cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's mode for the rest of the transaction


def _python_column(values: pd.Series) -> list:
    """Values the SQLite driver binds: ISO dates, None for missing."""
    if pd.api.types.is_datetime64_any_dtype(values):
        text = np.datetime_as_string(values.to_numpy().astype("datetime64[D]"))
        return pd.Series(text, dtype="object").where(values.notna().to_numpy(), None).tolist()
    if pd.api.types.is_float_dtype(values) or pd.api.types.is_integer_dtype(values) or pd.api.types.is_bool_dtype(values):
        array = values.astype("object")
        return array.where(values.notna(), None).tolist()
    return values.astype("object").where(values.notna(), None).tolist()


def insert_rows(model: type[models.Model], rows: pd.DataFrame, *, batch: ImportBatch, now) -> None:  # noqa: ANN001
    """Insert ``rows`` (columns named by attname, ``id`` included) into ``model``'s table; every other
    concrete column takes the model default."""
    if rows.empty:
        return
    n = len(rows)
    data = rows.copy()
    for f in model._meta.concrete_fields:
        if f.attname in data:
            continue
        if f.attname == "import_batch_id":
            value = batch.pk
        elif f.attname == "version":
            value = 1
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            # As Django itself would write it (SQLite: naive UTC text; PostgreSQL: timestamptz text).
            value = connection.ops.adapt_datetimefield_value(now) if connection.vendor == "sqlite" else now.isoformat()
        elif f.has_default():
            value = f.get_default()
        elif f.null:
            value = None
        else:
            raise ValueError(f"{model.__name__}.{f.attname} has no value and no default")
        data[f.attname] = value
    columns = [f.attname for f in model._meta.concrete_fields]
    column_sql = ", ".join(connection.ops.quote_name(model._meta.get_field(c).column) if c != "id" else "id" for c in columns)
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor == "sqlite":
        raw = connection.connection
        placeholders = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({column_sql}) VALUES ({placeholders})"
        for start in range(0, n, _CHUNK):
            part = data.iloc[start : start + _CHUNK]
            with connection.wrap_database_errors:  # driver errors become django.db errors
                raw.executemany(sql, zip(*(_python_column(part[c]) for c in columns)))
        return
    with connection.wrap_database_errors:
        _copy_into(table, column_sql, data[columns])


def _copy_into(table: str, column_sql: str, data: pd.DataFrame) -> None:
    """``COPY ... FROM STDIN`` a frame as CSV (written by Arrow: fast, exact floats, ISO dates)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    arrays = {}
    for name in data.columns:
        values = data[name]
        if pd.api.types.is_datetime64_any_dtype(values):
            arrays[name] = pa.array(values.to_numpy().astype("datetime64[D]"), mask=values.isna().to_numpy(), type=pa.date32())
        else:
            arrays[name] = pa.array(values.astype("object").where(values.notna(), None).tolist(), from_pandas=True)
    table_arrow = pa.table(arrays)
    sql = f"COPY {table} ({column_sql}) FROM STDIN (FORMAT csv, HEADER false)"
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy_:
        for start in range(0, table_arrow.num_rows, _CHUNK):
            buffer = io.BytesIO()
            options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
            pacsv.write_csv(table_arrow.slice(start, _CHUNK), buffer, write_options=options)
            copy_.write(buffer.getvalue())


def _diff_reason(batch: ImportBatch, old: Mapping, new: Mapping) -> str:
    changes = "; ".join(f"{k}: {_show(old[k])} → {_show(new[k])}" for k in new if not _equal(old[k], new[k]))
    return f"import #{batch.pk} ({batch.file_name}): {changes}"[:100]


def _show(value: object) -> str:
    return "∅" if value is None else str(value)


def _equal(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return bool(np.isclose(a, b, rtol=1e-9, atol=0.0))
    return a == b


def update_with_history(model: type[models.Model], targets: pd.DataFrame, fields: list[str], *, batch: ImportBatch, now) -> None:  # noqa: ANN001
    """Apply ``targets`` (``id`` + ``fields``) with history: the old state first when the record has
    none (its creation was audited by its import batch), then the new state with the changes."""
    if targets.empty:
        return
    ids = targets["id"].astype(int).tolist()
    objects = {o.pk: o for o in _objects(model, ids)}
    with_history = set(fetch_frame(model.history.all(), "id", ids, ["id"])["id"].tolist()) if ids else set()
    before = []
    for pk in ids:
        if pk not in with_history:
            snapshot = copy.copy(objects[pk])
            snapshot._history_date = snapshot.updated_at
            origin = f"import #{snapshot.import_batch_id}" if snapshot.import_batch_id else "an earlier write"
            snapshot._change_reason = f"state created by {origin}, kept before import #{batch.pk} changed it"[:100]
            before.append(snapshot)
    if before:
        model.history.bulk_history_create(before, update=False, default_user=batch.user)
    changed = []
    for row in targets.itertuples(index=False):
        obj = objects[int(row.id)]
        old = {f: getattr(obj, f) for f in fields}
        new = {f: _model_value(getattr(row, f)) for f in fields}
        for f, value in new.items():
            setattr(obj, f, value)
        obj.version += 1
        obj.updated_at = now
        obj._change_reason = _diff_reason(batch, old, new)
        obj._history_date = now
        changed.append(obj)
    model.objects.bulk_update(changed, [*fields, "version", "updated_at"], batch_size=2000)
    model.history.bulk_history_create(changed, update=True, default_user=batch.user)


def _objects(model: type[models.Model], ids: list[int]) -> list[models.Model]:
    step = 900
    found: list[models.Model] = []
    for start in range(0, len(ids), step):
        found += model.objects.filter(pk__in=ids[start : start + step])
    return found


def _model_value(value: object) -> object:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, np.generic):
        return value.item()
    return value


def new_ids(model: type[models.Model], count: int) -> np.ndarray:
    if not count:
        return np.array([], dtype="int64")
    first = _reserve_ids(model, count)
    return np.arange(first, first + count, dtype="int64")
