"""Errors as HTTP responses: the one table from the core's errors to statuses, the HTTP-level
refusals the core knows nothing of, and `problem_for`, the one place that turns any exception
into an `application/problem+json` (RFC 9457) response."""

from __future__ import annotations

import logging
import types
import typing
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route
from starlette.types import Scope

from qa.errors import (
    IndexCorruptError,
    IndexNotFoundError,
    InvalidInputError,
    ModelError,
    NotFoundError,
    QAError,
    TranscriptError,
)
from qa.schemas import PROBLEM_JSON, AskRequest, Problem, QueryRequest

log = logging.getLogger("qa.api")


# The one table from the core's errors to HTTP statuses (a subclass takes its nearest entry).
_STATUS: dict[type[QAError], int] = {
    InvalidInputError: 422,
    NotFoundError: 404,
    TranscriptError: 503,
    ModelError: 503,
    IndexNotFoundError: 503,
    IndexCorruptError: 503,
}
# The body each JSON endpoint expects, for errors that say what to send instead.
_BODIES: dict[str, tuple[type[BaseModel], str]] = {
    "/ask": (AskRequest, '{"question": "…", "top_k": 5}'),
    "/query": (QueryRequest, '{"queries": [{"query": "…", "top_k": 3}]}'),
}


# HTTP-level refusals the core knows nothing of. They are Starlette HTTPExceptions so that
# FastAPI passes them through when one is raised while it reads the body.


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over {limit} bytes: send a shorter question")


class UnsupportedMediaType(HTTPException):
    def __init__(self, content_type: str | None) -> None:
        sent = f"not {content_type!r}" if content_type else "it had no Content-Type"
        super().__init__(
            415, f"send the body as JSON with 'Content-Type: application/json' ({sent})"
        )


class Unauthorized(HTTPException):
    def __init__(self, detail: str, error: str | None = None) -> None:
        challenge = f'Bearer error="{error}"' if error else "Bearer"
        super().__init__(401, detail, {"WWW-Authenticate": challenge})


class NotReady(HTTPException):
    def __init__(self, detail: str, retry: bool) -> None:
        super().__init__(503, detail, {"Retry-After": "5"} if retry else None)


def problem_for(request: Request, exc: Exception) -> Response:
    """The `application/problem+json` response for any exception; unexpected ones are logged
    and answered with a 500 that says nothing of their insides."""
    if isinstance(exc, QAError):
        status = next((_STATUS[c] for c in type(exc).__mro__ if c in _STATUS), 500)
        if status >= 500:
            log.error("%s: %s", type(exc).__name__, exc)
        return _problem(request, status, str(exc))
    if isinstance(exc, RequestValidationError):
        errors = [_field_error(request.url.path, e) for e in exc.errors()]
        status = 400 if any(e["type"] == "json_invalid" for e in exc.errors()) else 422
        detail = "; ".join(e["detail"] for e in errors)
        return _problem(request, status, detail, errors=errors)
    if isinstance(exc, HTTPException):
        headers = _with_allow(request, exc.headers) if exc.status_code == 405 else exc.headers
        detail = _http_detail(request, exc.status_code, str(exc.detail), headers)
        return _problem(request, exc.status_code, detail, headers)
    log.error(
        "unexpected error answering %s %s",
        request.method,
        request.url.path,
        exc_info=exc,
        extra={"request_id": request_id_of(request.scope)},
    )
    detail = "an unexpected error occurred and was logged; quote the request id if you report it"
    return _problem(request, 500, detail)


async def handle(request: Request, exc: Exception) -> Response:
    """The exception handler FastAPI calls (for `QAError`s, validation and HTTP errors)."""
    return problem_for(request, exc)


def request_id_of(scope: Scope) -> str | None:
    state = scope.get("state")
    return state.get("request_id") if isinstance(state, dict) else None


def _problem(
    request: Request,
    status: int,
    detail: str,
    headers: Mapping[str, str] | None = None,
    errors: list[dict[str, str]] | None = None,
) -> Response:
    body = Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=request.url.path,
        request_id=request_id_of(request.scope),
        errors=errors,
    )
    content = body.model_dump(exclude_none=True)
    return JSONResponse(content, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _field_error(path: str, error: Any) -> dict[str, str]:
    where, *location = error["loc"]
    name = ".".join(str(p) for p in location)
    model, example = _BODIES.get(path, _BODIES["/ask"])
    if error["type"] == "json_invalid":
        reason = error.get("ctx", {}).get("error", "")
        detail = f"the body is not valid JSON ({reason}): send an object such as {example}"
        return {"detail": detail, "pointer": "#"}
    if where == "body" and not location:
        detail = f"the body must be a JSON object such as {example}"
    elif error["type"] == "missing":
        detail = f"'{name}' is required"
    elif error["type"] == "extra_forbidden":
        fields = _fields_at(model, location[:-1])
        detail = f"'{name}' is not a field: use only {', '.join(fields)}"
    else:
        detail = f"'{name}': {error['msg']}"
    if where == "body":
        return {"detail": detail, "pointer": "#/" + "/".join(str(p) for p in location)}
    return {"detail": detail, "parameter": name}


def _fields_at(model: type[BaseModel], location: list[Any]) -> list[str]:
    # The fields of the (nested) model at `location`, such as ["queries", 0, "filter"].
    for step in location:
        if isinstance(step, int):
            continue
        field = model.model_fields.get(str(step))
        inner = _model_in(field.annotation) if field is not None else None
        if inner is None:
            return []
        model = inner
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _http_detail(
    request: Request, status: int, detail: str, headers: Mapping[str, str] | None
) -> str:
    path = request.url.path
    if detail != HTTPStatus(status).phrase:
        return detail
    if status == 404:
        return f"there is no {path}: /docs lists the endpoints"
    if status == 405:
        return f"{request.method} is not allowed on {path}: use {(headers or {}).get('Allow')}"
    return detail


def _with_allow(request: Request, headers: Mapping[str, str] | None) -> dict[str, str]:
    # Starlette's 405 names only the first route on the path; GET and POST /ask are two.
    methods = {
        method
        for route in request.app.router.routes
        if isinstance(route, Route) and route.matches(request.scope)[0] is Match.PARTIAL
        for method in route.methods or ()
    }
    return {**(headers or {}), "Allow": ", ".join(sorted(methods))}
