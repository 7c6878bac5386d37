"""Set-wise writes that keep history: fast bulk update on PostgreSQL, history rows always.

Django's ``bulk_update`` builds one ``CASE WHEN`` per field and row, which costs seconds
per thousand wide rows; on PostgreSQL ``UPDATE ... FROM (VALUES ...)`` does the same
work in one round trip. History rows are written exactly as django-simple-history's own
``bulk_update_with_history`` writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone
from psycopg2.extras import execute_values
from simple_history.utils import get_history_manager_for_model

from mdm.core.history import bulk_history_attrs
from mdm.core.middleware import current_request_id

BATCH = 1000


def bulk_update_rows(model: type[models.Model], objs: Sequence[models.Model],
                     fields: Sequence[str]) -> None:
    """Write ``fields`` of ``objs`` (by primary key) in as few statements as possible."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objs, fields, batch_size=BATCH)
        return
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    assignments = ", ".join(
        f'"{f.column}" = v."{f.column}"::{f.db_type(connection)}' for f in columns)
    names = ", ".join(f'"{f.column}"' for f in [pk, *columns])
    sql = (f'UPDATE "{meta.db_table}" AS t SET {assignments} FROM (VALUES %s) AS v({names}) '
           f'WHERE t."{pk.column}" = v."{pk.column}"::{pk.db_type(connection)}')
    rows = [
        tuple(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in [pk, *columns])
        for obj in objs
    ]
    with connection.cursor() as cursor:
        execute_values(cursor.cursor, sql, rows, page_size=BATCH)


def bulk_insert_rows(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert ``objs``, setting auto-generated primary keys on them; no signals, like
    ``bulk_create``, but without its per-value SQL compilation on PostgreSQL."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, batch_size=BATCH)
        return
    meta = model._meta
    auto_pk = isinstance(meta.pk, models.AutoField) and getattr(objs[0], meta.pk.attname) is None
    fields = [f for f in meta.concrete_fields if not (auto_pk and f.primary_key)]
    rows = [tuple(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields)
            for obj in objs]
    names = ", ".join(f'"{f.column}"' for f in fields)
    sql = f'INSERT INTO "{meta.db_table}" ({names}) VALUES %s'
    with connection.cursor() as cursor:
        if auto_pk:
            ids = execute_values(cursor.cursor, f'{sql} RETURNING "{meta.pk.column}"', rows,
                                 page_size=BATCH, fetch=True)
            for obj, (pk,) in zip(objs, ids, strict=True):
                setattr(obj, meta.pk.attname, pk)
        else:
            execute_values(cursor.cursor, sql, rows, page_size=BATCH)
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias


def history_rows_insert(model: type[models.Model], objs: Sequence[models.Model], *,
                        history_type: str, user: Any = None, reason: str = "") -> None:
    """One history row per object, as django-simple-history writes them, without
    building a historical model instance per row."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        get_history_manager_for_model(model).bulk_history_create(
            list(objs), batch_size=BATCH, update=history_type == "~", default_user=user,
            default_change_reason=reason, custom_historical_attrs=bulk_history_attrs())
        return
    historical = get_history_manager_for_model(model).model
    extra = {"history_date": timezone.now(), "history_change_reason": reason or None,
             "history_type": history_type, "history_user_id": getattr(user, "pk", None),
             "request_id": current_request_id()}
    fields = [f for f in historical._meta.concrete_fields if not f.primary_key]
    rows = [
        tuple(f.get_db_prep_save(extra[f.attname] if f.attname in extra
                                 else getattr(obj, f.attname), connection) for f in fields)
        for obj in objs
    ]
    names = ", ".join(f'"{f.column}"' for f in fields)
    with connection.cursor() as cursor:
        execute_values(cursor.cursor,
                       f'INSERT INTO "{historical._meta.db_table}" ({names}) VALUES %s',
                       rows, page_size=BATCH)


def bulk_save_with_history(model: type[models.Model], *, created: Sequence[models.Model] = (),
                           updated: Sequence[models.Model] = (),
                           update_fields: Sequence[str] = (), user: Any = None,
                           reason: str = "") -> None:
    """Insert ``created`` and update ``updated``, each with one history row per object."""
    with transaction.atomic(savepoint=False):
        bulk_insert_rows(model, created)
        history_rows_insert(model, created, history_type="+", user=user, reason=reason)
        bulk_update_rows(model, updated, update_fields)
        history_rows_insert(model, updated, history_type="~", user=user, reason=reason)
