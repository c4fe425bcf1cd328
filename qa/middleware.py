"""The service's ASGI middleware, outermost first: observe (request ids, the access log,
metrics, the last-resort problem response) → CORS → token → body limit → FastAPI."""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid

from fastapi import Request
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.problems import BodyTooLarge, Unauthorized, UnsupportedMediaType, problem_for

access_log = logging.getLogger("qa.access")

OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
)
_REQUEST_ID = re.compile(r"[!-~]{1,128}")  # visible ASCII: safe in a header and a log line


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["method", "route", "status"]
        self.requests = Counter(
            "qa_http_requests", "HTTP requests answered.", labels, registry=self.registry
        )
        self.latency = Histogram(
            "qa_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            labels,
            registry=self.registry,
        )
        self.search = Histogram(
            "qa_search_duration_seconds",
            "Time to encode a question and rank the claims.",
            registry=self.registry,
        )


class Observe:
    """A request id, one access-log line and the metrics for every request; and the last
    resort for exceptions nothing inside handled (a problem response, never a bare 500)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        start = time.perf_counter()
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if started:
                raise
            await problem_for(Request(scope), exc)(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or "<unmatched>"
            labels = (scope["method"], route, str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(seconds)
            access_log.info(
                "%s %s %d %.1fms",
                scope["method"],
                scope["path"],
                status,
                seconds * 1000,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                    "request_id": request_id,
                },
            )


class RequireToken:
    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "").removeprefix(scope.get("root_path", ""))
        if scope["type"] != "http" or path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = Headers(scope=scope).get("authorization")
        scheme, _, token = (header or "").partition(" ")
        if header is None:
            refusal = Unauthorized(
                "this server needs a token: send 'Authorization: Bearer <token>'"
            )
        elif scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), self.token
        ):
            refusal = Unauthorized(
                "the bearer token is not the one this server was started with "
                "(QA_API_TOKEN): send 'Authorization: Bearer <token>'",
                error="invalid_token",
            )
        else:
            await self.app(scope, receive, send)
            return
        # Answered here rather than raised, so that CORS headers reach the browser too.
        await problem_for(Request(scope), refusal)(scope, receive, send)


class LimitBody:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await problem_for(Request(scope), BodyTooLarge(self.limit))(scope, receive, send)
            return
        received = 0

        async def receive_limited() -> Message:
            # Content-Length can be absent (chunked) or wrong: count what arrives too. The
            # route reading the body gets the exception, and FastAPI passes HTTPExceptions on.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, receive_limited, send)


async def require_json(request: Request) -> None:
    """A route dependency: 415 unless the body is sent as JSON."""
    content_type = request.headers.get("content-type")
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise UnsupportedMediaType(content_type)
