"""Set-wise writes that keep history: ``COPY`` on PostgreSQL, history rows always.

On PostgreSQL rows are written with ``COPY ... FROM STDIN`` from text this module formats
itself: one converter per column, derived once per model, instead of Django's per-value
``get_db_prep_save`` and psycopg2's per-row ``mogrify``. Auto primary keys are reserved
from the table's sequence first, so callers still get ``obj.pk``. Updates ``COPY`` the new
values into a temporary table and apply them with one ``UPDATE ... FROM``. History rows
carry the same columns django-simple-history's own ``bulk_update_with_history`` writes.
Other databases (SQLite for the embedded default) take Django's bulk paths. Everything
runs inside the caller's transaction.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models.expressions import Value
from django.utils import timezone
from simple_history.utils import get_history_manager_for_model

from mdm.core.history import bulk_history_attrs
from mdm.core.middleware import current_request_id

BATCH = 1000
_NULL = "\\N"
_COPY_CHUNK = 1 << 20

Converter = Callable[[Any], str]


def bulk_update_rows(model: type[models.Model], objs: Sequence[models.Model],
                     fields: Sequence[str]) -> None:
    """Write ``fields`` of ``objs`` (by primary key) in as few statements as possible."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objs, fields, batch_size=BATCH)
        return
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    converters = _converters(model, tuple(f.attname for f in columns))
    data = _copy_data(map(_getter([f.attname for f in columns]), objs), converters)
    qn = connection.ops.quote_name
    temp = qn(f"_bulk_update_{meta.db_table}"[:63])
    definitions = ", ".join(f"{qn(f.column)} {f.db_type(connection)}" for f in columns)
    names = ", ".join(qn(f.column) for f in columns)
    pk = qn(meta.pk.column)
    assignments = ", ".join(f"{qn(f.column)} = v.{qn(f.column)}" for f in columns[1:])
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        raw = cursor.cursor
        raw.execute(f"CREATE TEMPORARY TABLE {temp} ({definitions}) ON COMMIT DROP")
        raw.copy_expert(f"COPY {temp} ({names}) FROM STDIN", io.BytesIO(data), _COPY_CHUNK)
        raw.execute(f"UPDATE {qn(meta.db_table)} AS t SET {assignments} FROM {temp} AS v "
                    f"WHERE t.{pk} = v.{pk}; DROP TABLE {temp}")


def bulk_insert_rows(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert ``objs``, setting auto-generated primary keys on them; no signals, like
    ``bulk_create``, but without its per-value SQL compilation on PostgreSQL."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs, batch_size=BATCH)
        return
    meta = model._meta
    fields = list(meta.concrete_fields)
    _insert_copy(model, objs, fields, _converters(model, tuple(f.attname for f in fields)))
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
    tracked = [f for f in fields if f.attname not in extra]
    constant = [f for f in fields if f.attname in extra]
    converters = _converters(historical, tuple(f.attname for f in [*tracked, *constant]))
    suffix = "\t".join(_NULL if extra[f.attname] is None else convert(extra[f.attname])
                       for f, convert in zip(constant, converters[len(tracked):], strict=True))
    data = _copy_data(map(_getter([f.attname for f in tracked]), objs),
                      converters[:len(tracked)], suffix)
    _copy(historical, [*tracked, *constant], data)


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


# --- COPY --------------------------------------------------------------------------------


def _insert_copy(model: type[models.Model], objs: Sequence[models.Model],
                 fields: list[models.Field], converters: list[Converter]) -> None:
    meta = model._meta
    pk = meta.pk
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objs:
                field.pre_save(obj, True)
    assigned: list[models.Model] = []
    if isinstance(pk, models.AutoField):
        assigned = [obj for obj in objs if getattr(obj, pk.attname) is None]
    try:
        if assigned:
            for obj, value in zip(assigned, _reserve_ids(meta, len(assigned)), strict=True):
                setattr(obj, pk.attname, value)
        data = _copy_data(map(_getter([f.attname for f in fields]), objs), converters)
        _copy(model, fields, data)
    except BaseException:
        for obj in assigned:
            setattr(obj, pk.attname, None)
        raise


def _reserve_ids(meta: Any, count: int) -> list[int]:
    """``count`` new values of the primary key's sequence, in increasing order."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) "
                       "FROM generate_series(1, %s)",
                       [connection.ops.quote_name(meta.db_table), meta.pk.column, count])
        return sorted(value for (value,) in cursor.fetchall())


def _copy(model: type[models.Model], fields: list[models.Field], data: bytes) -> None:
    qn = connection.ops.quote_name
    names = ", ".join(qn(f.column) for f in fields)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {qn(model._meta.db_table)} ({names}) FROM STDIN",
                                  io.BytesIO(data), _COPY_CHUNK)


def _copy_data(rows: Any, converters: list[Converter], suffix: str | None = None) -> bytes:
    """COPY text format: one line per row, columns separated by tabs, ``\\N`` for NULL."""
    lines = []
    for values in rows:
        line = "\t".join([_NULL if value is None else convert(value)
                          for convert, value in zip(converters, values, strict=True)])
        lines.append(line if suffix is None else f"{line}\t{suffix}" if converters else suffix)
    lines.append("")
    return "\n".join(lines).encode()


def _getter(attnames: list[str]) -> Callable[[Any], tuple]:
    if len(attnames) == 1:
        get = attrgetter(attnames[0])
        return lambda obj: (get(obj),)
    return attrgetter(*attnames)


_CONVERTERS: dict[tuple[type[models.Model], tuple[str, ...]], list[Converter]] = {}


def _converters(model: type[models.Model], attnames: tuple[str, ...]) -> list[Converter]:
    """The COPY converter of each column (by attname); built once per model and columns."""
    key = (model, attnames)
    if key not in _CONVERTERS:
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        converters = []
        for name in attnames:
            converter = _converter(by_attname[name])
            if converter is None:
                raise TypeError(f"{model.__name__}.{name}: bulk writes cannot format a "
                                f"{type(by_attname[name]).__name__}; add it to _converter")
            converters.append(converter)
        _CONVERTERS[key] = converters
    return _CONVERTERS[key]


def _escape(text: str) -> str:
    return (text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


def _converter(field: models.Field) -> Converter | None:
    """A function formatting a non-None value of ``field`` as COPY text, the same value
    ``get_db_prep_save`` would have sent; None for fields formatted only by Django."""
    if field.has_db_default() or getattr(field, "generated", False):
        return None
    kind = type(field)
    if kind in (models.ForeignKey, models.OneToOneField):
        return _converter(field.target_field)
    if kind in _TEXT_FIELDS:
        return _fast(field, str, _escape)
    if kind in _INTEGER_FIELDS:
        return _fast(field, int, str)
    if kind is models.BooleanField:
        return _fast(field, bool, lambda value: "t" if value else "f")
    if kind is models.UUIDField:
        return _fast(field, UUID, str)
    if kind is models.DecimalField:
        return _fast(field, Decimal, str)
    if kind is models.FloatField:
        return _fast(field, float, repr)
    if kind is models.DateTimeField:
        # Naive datetimes go through Django (made aware, with its warning).
        def aware(value: Any) -> str:
            if type(value) is not datetime or value.tzinfo is None:
                value = field.get_prep_value(value)
                if value is None:
                    return _NULL
            return value.isoformat()
        return aware
    if kind in (models.DateField, models.TimeField):
        return _fast(field, date if kind is models.DateField else None,
                     lambda value: value.isoformat())
    if kind is models.JSONField:
        encode = (field.encoder or DjangoJSONEncoder)(ensure_ascii=False).encode

        def json_text(value: Any) -> str:
            if isinstance(value, Value):
                value = value.value
            # JSON text escapes every control character, so only backslashes remain.
            return encode(value).replace("\\", "\\\\")
        return json_text
    return None


def _fast(field: models.Field, python_type: type | None,
          text: Callable[[Any], str]) -> Converter:
    """``text(value)`` for values already of ``python_type``; anything else is first
    prepared by the field, as ``get_db_prep_save`` does."""
    prep = field.get_prep_value

    def convert(value: Any) -> str:
        if type(value) is not python_type:
            value = prep(value)
            if value is None:
                return _NULL
        return text(value)
    return convert


_TEXT_FIELDS = {models.CharField, models.TextField, models.SlugField, models.EmailField,
                models.URLField}
_INTEGER_FIELDS = {models.IntegerField, models.BigIntegerField, models.SmallIntegerField,
                   models.PositiveIntegerField, models.PositiveBigIntegerField,
                   models.PositiveSmallIntegerField, models.AutoField, models.BigAutoField,
                   models.SmallAutoField}
