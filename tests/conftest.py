"""Shared fixtures. Tests run against the database in DATABASE_URL (PostgreSQL in CI)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from mdm.celery import app as celery_app
from mdm.core.roles import DATA_STEWARD
from mdm.sources.models import FieldMapping, SourceSystem, ValueMap
from mdm.sources.services import IncomingRecord, source_records_ingest, source_system_rotate_key


@pytest.fixture
def make_source(db: Any) -> Callable[..., SourceSystem]:
    """A source system; ``mappings``: {domain: [(field, attribute, transform, options)]},
    ``value_maps``: {domain: {attribute: {code: canonical}}}."""

    def make(code: str, *, mappings: dict | None = None, value_maps: dict | None = None,
             **fields: Any) -> SourceSystem:
        source = SourceSystem.objects.create(code=code, name=code.upper(), **fields)
        for domain, rows in (mappings or {}).items():
            for row in rows:
                field, attribute, transform, options = (*row, "", {})[:4]
                FieldMapping.objects.create(source=source, domain=domain, source_field=field,
                                            attribute=attribute, transform=transform,
                                            options=options)
        for domain, by_attribute in (value_maps or {}).items():
            for attribute, codes in by_attribute.items():
                for code_value, canonical in codes.items():
                    ValueMap.objects.create(source=source, domain=domain, attribute=attribute,
                                            source_value=code_value, canonical_value=canonical)
        return source

    return make


@pytest.fixture
def ingest() -> Callable[..., Any]:
    """Ingest records given as (key, domain, fields[, updated_at]) tuples."""

    def run(source: SourceSystem, *records: tuple, **kwargs: Any) -> Any:
        incoming = [IncomingRecord(source_key=r[0], domain=r[1], fields=r[2],
                                   source_updated_at=r[3] if len(r) > 3 else None)
                    for r in records]
        return source_records_ingest(source=source, records=incoming, **kwargs)

    return run


@pytest.fixture
def source_client() -> Callable[[SourceSystem], APIClient]:
    def client_for(source: SourceSystem) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {source_system_rotate_key(source=source)}")
        return client

    return client_for


@pytest.fixture
def steward(db: Any) -> User:
    user = User.objects.create_user("steward1", password="pw-steward-1")
    user.groups.add(Group.objects.get(name=DATA_STEWARD))
    return user


@pytest.fixture
def steward_client(steward: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(steward)
    return client


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in-process, as the embedded default does."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def crm(make_source: Callable[..., SourceSystem]) -> SourceSystem:
    """A plain CRM source (files that need mappings define their own ``crm``)."""
    return make_source("crm")


@pytest.fixture
def erp(make_source: Callable[..., SourceSystem]) -> SourceSystem:
    return make_source("erp")
