"""Insert many rows without building a model instance per row.

`bulk_create` spends most of a 50,000-row import constructing instances and preparing each of
their 26 fields one call at a time, and on SQLite it splits the rows into batches of 38 to stay
under the bound-variable limit. Here each column's conversion is chosen once, values shared by
every row are converted once, plain strings pass through, and the rows go to the driver's
`executemany` (one prepared statement). Constraints and column types still apply.

`insert_one` is `save(force_insert=True)` for one new row on a hot path (a fault report per
request): the statement is built once per model, not compiled by the ORM for every save.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import cache
from itertools import chain, islice
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models

BATCH = 5000


def insert_rows(model: type[models.Model], rows: Iterable[Mapping[str, Any]], **common: Any) -> int:
    """INSERT each mapping of attname -> value (every row has the keys of the first) plus the
    `common` values all rows share; other columns get the field's default."""
    source = iter(rows)
    first = next(source, None)
    if first is None:
        return 0
    connection = connections[DEFAULT_DB_ALIAS]  # the real one: the proxy costs a lookup per use
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    varying = [f for f in fields if f.attname in first and f.attname not in common]
    fixed = [f for f in fields if f not in varying]
    head = tuple(f.get_db_prep_save(common[f.attname] if f.attname in common else f.get_default(), connection)
                 for f in fixed)
    convert = [(f.attname, _converter(f, connection)) for f in varying]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        connection.ops.quote_name(model._meta.db_table),
        ", ".join(connection.ops.quote_name(f.column) for f in fixed + varying),
        ", ".join(["%s"] * len(fields)))
    count = 0
    source = chain([first], source)
    with connection.cursor() as cursor:
        while batch := list(islice(source, BATCH)):
            cursor.executemany(sql, [head + tuple(to_db(row[name]) for name, to_db in convert) for row in batch])
            count += len(batch)
    return count


def insert_one(instance: models.Model) -> None:
    """INSERT a new instance and set its primary key, as `instance.save(force_insert=True)` does
    for a model with no save() override and no signal receivers (the callers' models have none):
    each field's pre_save (auto_now and the like) and database preparation still apply."""
    model = type(instance)
    connection = connections[DEFAULT_DB_ALIAS]
    fields, sql, returning = _insert_statement(model, connection.vendor)
    params = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        instance.pk = cursor.fetchone()[0] if returning else cursor.lastrowid
    instance._state.adding, instance._state.db = False, DEFAULT_DB_ALIAS


@cache
def _insert_statement(model: type[models.Model], vendor: str) -> tuple[list[Any], str, bool]:
    connection = connections[DEFAULT_DB_ALIAS]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    returning = connection.features.can_return_columns_from_insert
    sql = "INSERT INTO {} ({}) VALUES ({}){}".format(
        quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields), ", ".join(["%s"] * len(fields)),
        f" RETURNING {quote(model._meta.pk.column)}" if returning else "")  # type: ignore[union-attr]
    return fields, sql, returning


def _converter(field: models.Field, connection: Any) -> Callable[[Any], Any]:
    if isinstance(field, (models.CharField, models.TextField)):
        # str(choice) is its value; anything else goes through the field as Django would.
        return lambda value: str(value) if isinstance(value, str) else field.get_db_prep_save(value, connection)
    return lambda value: field.get_db_prep_save(value, connection)
