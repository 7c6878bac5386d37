"""One error type for the whole hub, mapped to one JSON shape in one handler.

Services raise ``MDMError`` (or a subclass); the API answers
``{"error": {"code": ..., "message": ..., "fields": {...}}}`` with the error's status.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class MDMError(Exception):
    """A failure the caller can act on: a code, a message and per-field messages."""

    status = 400
    code = "invalid"

    def __init__(
        self, message: str, *, code: str | None = None, fields: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code

    def as_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class ValidationFailed(MDMError):
    status = 400
    code = "invalid"


class NotAuthenticated(MDMError):
    status = 401
    code = "not_authenticated"


class Forbidden(MDMError):
    status = 403
    code = "forbidden"


class NotFound(MDMError):
    status = 404
    code = "not_found"


class Conflict(MDMError):
    status = 409
    code = "conflict"


class PreconditionFailed(MDMError):
    status = 412
    code = "precondition_failed"


class PayloadTooLarge(MDMError):
    status = 413
    code = "payload_too_large"


def flatten_field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into ``{"records[2].domain": ["..."]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key) if not prefix else f"{prefix}.{key}"
            if isinstance(key, int):
                name = f"{prefix}[{key}]"
            elif key == "non_field_errors" and prefix:
                name = prefix
            flat.update(flatten_field_errors(value, name))
    elif isinstance(detail, list) and detail and all(isinstance(d, (dict, list)) for d in detail):
        for index, value in enumerate(detail):
            if value:
                flat.update(flatten_field_errors(value, f"{prefix}[{index}]"))
    elif isinstance(detail, list):
        flat[prefix or "non_field_errors"] = [str(d) for d in detail]
    else:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


def _from_drf(exc: drf_exceptions.APIException) -> MDMError:
    if isinstance(exc, drf_exceptions.ValidationError):
        fields = flatten_field_errors(exc.detail)
        first = next(iter(fields.items()), ("", ["invalid input"]))
        message = f"{first[0]}: {first[1][0]}" if first[0] != "non_field_errors" else first[1][0]
        return ValidationFailed(f"Invalid input. {message}", fields=fields)
    error = MDMError(str(exc.detail), code=exc.default_code)
    error.status = exc.status_code
    if isinstance(exc, (drf_exceptions.NotAuthenticated, drf_exceptions.AuthenticationFailed)):
        error.status = 401
    return error


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF exception handler: every error leaves the API in the one JSON shape."""
    if isinstance(exc, Http404):
        exc = NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = Forbidden(str(exc) or "You do not have permission to perform this action.")
    elif isinstance(exc, drf_exceptions.APIException):
        exc = _from_drf(exc)
    if not isinstance(exc, MDMError):
        return None
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Token"
    return Response(exc.as_dict(), status=exc.status, headers=headers)
