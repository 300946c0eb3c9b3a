"""How the flat import writes: bulk inserts with reserved ids, bulk updates with history.

Creates are written by :func:`insert_rows` (SQLite: staged, then one ``INSERT … SELECT``; PostgreSQL:
binary ``COPY``) on the connection of the surrounding Django transaction, so the database CHECK
constraints, keys and indexes still guard every value; updates go through the ORM and
django-simple-history. Used by :mod:`.flat_import` only.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import PurePath

import numpy as np
import pandas as pd
from django.db import connection, models
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from ..models import ImportBatch, PainAssessment

_SQLITE_CACHE_KIB = 512 * 1024


def fetch_frame(queryset: models.QuerySet, lookup: str, keys: Iterable, columns: list[str]) -> pd.DataFrame:
    """``queryset.filter(<lookup>__in=keys)`` as a frame, in one query whatever the number of keys
    (:func:`key_set`); no query at all when there are no keys or the table is empty (a first import)."""
    keys = [k.item() if isinstance(k, np.generic) else k for k in keys]
    if not keys or not queryset.model._default_manager.exists():
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    # The ORM's SQL, read with the driver's fetchall: Django's per-value converters cost seconds at a
    # million rows. On SQLite dates are selected as text (a column declared ``date`` would go through
    # the driver's Python date converter, one call per value); every caller parses them with pandas.
    # SQLite's 0/1 booleans are turned back into booleans here.
    fields = {column: _field(queryset.model, column) for column in columns}
    as_text = {
        f"{column}__as_text": Cast(column, output_field=models.TextField())
        for column, f in fields.items()
        if connection.vendor == "sqlite" and isinstance(f, models.DateField) and not isinstance(f, models.DateTimeField)
    }
    selected = [f"{column}__as_text" if f"{column}__as_text" in as_text else column for column in columns]
    query = queryset.filter(**{f"{lookup}__in": key_set(keys)}).annotate(**as_text).values_list(*selected).query
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        frame = pd.DataFrame.from_records(cursor.fetchall(), columns=columns)
    for column, f in fields.items():
        if isinstance(f, models.BooleanField):
            frame[column] = _booleans(frame[column])
    return frame


def _field(model: type[models.Model], path: str) -> models.Field:
    """The field a ``values_list`` path such as ``fracture__level`` ends on."""
    *relations, name = path.split("__")
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    return model._meta.get_field(name)


def _booleans(values: pd.Series) -> pd.Series:
    """0/1/True/False/None as Python ``True``/``False``/``None`` (what Django's converters give)."""
    raw = values.to_numpy(dtype="object")
    missing = pd.isna(raw)
    out = np.full(len(raw), None, dtype="object")
    out[~missing] = np.array([False, True], dtype="object")[raw[~missing].astype(bool).astype(int)]
    return pd.Series(out, index=values.index, dtype="object")


def key_set(keys: list) -> RawSQL:
    """The right-hand side of ``IN`` for many keys, passed as one parameter: a JSON array that
    SQLite reads with ``json_each``, an array that PostgreSQL unnests. (A list of placeholders is
    capped at 999 per statement by SQLite and costs seconds to plan at 100k keys.)"""
    if connection.vendor == "sqlite":
        return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(keys)])
    cast = "text[]" if keys and isinstance(keys[0], str) else "bigint[]"
    return RawSQL(f"SELECT unnest(%s::{cast})", [keys])


def same_values(new: pd.Series, old: pd.Series, *, tolerance: float | None = None) -> np.ndarray:
    """Element-wise equality where missing equals missing (and floats within a relative tolerance)."""
    both_missing = new.isna().to_numpy() & old.isna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(new) and pd.api.types.is_datetime64_any_dtype(old):
        a, b = new.to_numpy(dtype="datetime64[ns]"), old.to_numpy(dtype="datetime64[ns]")
        return both_missing | (a == b)  # NaT equals nothing
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


class BulkWriteSession:
    """The connection settings of one bulk import, restored when it ends.

    PostgreSQL: keep other writers out of the tables whose ids we reserve (the lock lasts until the
    transaction ends). SQLite's immediate transaction already holds the database's write lock; there
    the main and temporary page caches are made large enough for the indexes being filled and the
    staging table (the 2 MB default spills them to disk over and over) and set back afterwards.
    """

    def __init__(self, models_: Iterable[type[models.Model]]):
        self.tables = [m._meta.db_table for m in models_]
        self.saved: dict[str, int] = {}

    def __enter__(self) -> BulkWriteSession:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                for schema in ("main", "temp"):
                    cursor.execute(f"PRAGMA {schema}.cache_size")
                    self.saved[schema] = int(cursor.fetchone()[0])
                    cursor.execute(f"PRAGMA {schema}.cache_size = -{_SQLITE_CACHE_KIB}")
            elif connection.vendor == "postgresql":
                cursor.execute(f"LOCK TABLE {', '.join(self.tables)} IN SHARE ROW EXCLUSIVE MODE")
        return self

    def __exit__(self, kind, value, traceback) -> None:  # noqa: ANN001
        if self.saved:
            with connection.cursor() as cursor:
                for schema, size in self.saved.items():
                    cursor.execute(f"PRAGMA {schema}.cache_size = {size}")


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
        self.active = connection.vendor == "postgresql" and rows >= self.THRESHOLD and rows >= self._stored_rows() and self._owns_tables()
        self.constraints: list[tuple[str, str, str]] = []
        self.indexes: list[str] = []

    def _owns_tables(self) -> bool:
        """Dropping keys and indexes takes the tables' owner; a role that owns nothing (the deployment of
        ``vertebro db roles``) loads row by row with the keys in place."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT bool_and(pg_has_role(current_user, relowner, 'USAGE')) FROM pg_class WHERE oid = ANY(%s::regclass[])", [self.tables])
            return bool(cursor.fetchone()[0])

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


def _python_values(values: object, *, dates_as_text: bool) -> list:
    """One column as the Python values a driver binds, None for missing. Dates become ISO text
    (SQLite stores them so) or ``date`` objects (PostgreSQL); they take few distinct values, so each
    is converted once and shared."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, copy=False)
    if pd.api.types.is_datetime64_any_dtype(series):
        days = series.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
        missing = np.isnat(days)
        codes, uniques = pd.factorize(days.astype("int64"))
        as_days = uniques.astype("datetime64[D]")
        table = np.datetime_as_string(as_days).astype(object) if dates_as_text else as_days.astype(object)
        out = table[codes]
        out[missing] = None
        return out.tolist()
    if isinstance(series.dtype, pd.CategoricalDtype):
        table = np.append(np.asarray(series.cat.categories, dtype=object), None)
        return table[series.cat.codes.to_numpy()].tolist()
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        return series.to_numpy(dtype=object, na_value=None).tolist()
    array = series.to_numpy()
    if array.dtype.kind in "iub":
        return array.tolist()
    if array.dtype.kind == "f":
        missing = np.isnan(array)
        if not missing.any():
            return array.tolist()
        out = array.astype(object)
        out[missing] = None
        return out.tolist()
    out = array.astype(object, copy=True)
    out[pd.isna(out)] = None
    return out.tolist()


def _sql_literal(value: object) -> str:
    """A constant of an INSERT written into its SQL (so it is not bound a million times)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for {value!r}")


def _constant(model: type[models.Model], f: models.Field, *, batch: ImportBatch, now) -> object:  # noqa: ANN001
    """The value every created row takes in a column the import does not fill."""
    if f.attname == "import_batch_id":
        return batch.pk
    if f.attname == "version":
        return 1
    if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
        # As Django itself writes it (SQLite: naive UTC text; PostgreSQL: an aware datetime).
        return connection.ops.adapt_datetimefield_value(now) if connection.vendor == "sqlite" else now
    if f.has_default():
        return f.get_default()
    if f.null:
        return None
    raise ValueError(f"{model.__name__}.{f.attname} has no value and no default")


def insert_rows(model: type[models.Model], columns: Mapping[str, object], *, batch: ImportBatch, now) -> None:  # noqa: ANN001
    """Insert rows given column by column (attname → array, ``id`` included) into ``model``'s table;
    every other concrete column takes its constant (:func:`_constant`).

    SQLite: the given columns go by ``executemany`` into a bare temporary table, then one
    ``INSERT … SELECT`` moves them, constants written into the statement, into the real table, whose
    constraints, keys and indexes check every row as always (SQLite fills a table and its indexes in
    one statement about twice as fast as row by row: its cursors stay where the last row went).
    PostgreSQL: one binary ``COPY`` (no text parsing on the server)."""
    n = len(columns["id"])
    if not n:
        return
    fields = model._meta.concrete_fields
    constants = {f.attname: _constant(model, f, batch=batch, now=now) for f in fields if f.attname not in columns}
    if connection.vendor == "sqlite":
        _sqlite_insert(model._meta.db_table, fields, columns, constants)
        return
    given = [f for f in fields if f.attname in columns]
    values = [_python_values(columns[f.attname], dates_as_text=False) for f in given]
    repeated = [itertools.repeat(constants[f.attname], n) for f in fields if f.attname in constants]
    with connection.wrap_database_errors:
        _copy_binary(model._meta.db_table, given + [f for f in fields if f.attname in constants], zip(*values, *repeated))


def _sqlite_insert(table: str, fields: list[models.Field], columns: Mapping[str, object], constants: dict) -> None:
    stage = "temp.vertebro_import_stage"
    staged = [f for f in fields if f.attname in columns]
    slot = {f.attname: f"c{i}" for i, f in enumerate(staged)}
    slot.update({name: _sql_literal(value) for name, value in constants.items()})
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    values = [_python_values(columns[f.attname], dates_as_text=True) for f in staged]
    raw = connection.connection
    with connection.wrap_database_errors:  # driver errors become django.db errors
        raw.execute(f"DROP TABLE IF EXISTS {stage}")
        raw.execute(f"CREATE TABLE {stage} ({', '.join(f'c{i}' for i in range(len(staged)))})")
        try:
            _stage_rows(raw, stage, len(staged), len(values[0]), itertools.chain.from_iterable(zip(*values)))
            select = ", ".join(slot[f.attname] for f in fields)
            raw.execute(f"INSERT INTO {connection.ops.quote_name(table)} ({names}) SELECT {select} FROM {stage} ORDER BY rowid")
        finally:
            raw.execute(f"DROP TABLE IF EXISTS {stage}")


def _stage_rows(raw, stage: str, width: int, count: int, flat: Iterator) -> None:  # noqa: ANN001
    """``count`` rows of ``width`` values (``flat``, row after row) into the staging table, as many
    rows per statement as 999 parameters allow (SQLite's lowest limit): statement overhead is then
    paid once per hundred rows, which halves the cost of handing a million rows to SQLite."""
    per = max(1, 999 // width)
    row = f"({', '.join('?' * width)})"
    full, rest = divmod(count, per)
    raw.executemany(f"INSERT INTO {stage} VALUES {', '.join([row] * per)}", (tuple(itertools.islice(flat, per * width)) for _ in range(full)))
    if rest:
        raw.execute(f"INSERT INTO {stage} VALUES {', '.join([row] * rest)}", tuple(flat))


def _copy_binary(table: str, fields: list[models.Field], rows: Iterable[tuple]) -> None:
    """``COPY table (fields) FROM STDIN (FORMAT binary)``, typed by the table's own column types."""
    quote = connection.ops.quote_name
    with connection.connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
            [table],
        )
        types = dict(cursor.fetchall())
        sql = f"COPY {quote(table)} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN (FORMAT binary)"
        with cursor.copy(sql) as copy_:
            copy_.set_types([types[f.column] for f in fields])
            for row in rows:
                copy_.write_row(row)


def _diff_reason(batch: ImportBatch, old: Mapping, new: Mapping) -> str:
    changes = "; ".join(f"{k}: {_show(old[k])} → {_show(new[k])}" for k in new if not _equal(old[k], new[k]))
    # The batch keeps the whole path; the reason (100 characters in the history table) names the file
    # only, so the changes themselves fit.
    return f"import #{batch.pk} ({PurePath(batch.file_name).name}): {changes}"[:100]


def _show(value: object) -> str:
    return "∅" if value is None else str(value)


def _equal(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return bool(np.isclose(a, b, rtol=1e-9, atol=0.0))
    return a == b


def update_with_history(model: type[models.Model], targets: pd.DataFrame, fields: list[str], *, batch: ImportBatch, now, changes: Counter) -> None:  # noqa: ANN001
    """Apply ``targets`` (``id`` + ``fields``) with history: the old state first when the record has
    none (its creation was audited by its import batch), then the new state with the changes.
    ``changes`` counts, per ``"<model>.<field>"``, the records whose field changed."""
    if targets.empty:
        return
    ids = targets["id"].astype(int).tolist()
    objects = {o.pk: o for o in _objects(model, ids)}
    with_history = set(model.history.filter(id__in=key_set(ids)).values_list("id", flat=True))
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
        changes.update(f"{model._meta.model_name}.{f.removesuffix('_id')}" for f in fields if not _equal(old[f], new[f]))
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
    return list(model.objects.filter(pk__in=key_set(ids)))


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
