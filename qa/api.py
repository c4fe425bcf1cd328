"""The HTTP service: `create_app(settings)` answers questions over one transcript's claims.

Decisions, so that clients can rely on them:

- Errors. Every error is `application/problem+json` (RFC 9457): `type` "about:blank" (the
  status says what kind of problem it is), `title`, `status`, `detail` (what to change),
  `instance` (the path) and `request_id`; validation errors add `errors`, one per field.
  `_STATUS` is the one table from the core's errors to statuses, `problem_for` the one place
  that turns any exception into a response.
- Bad input is 422 when the request parsed but a value is not acceptable (empty or too long a
  question, `top_k` out of range, an unknown field or section, a wrong type), 400 only when the
  body is not JSON at all, 413 for a body over `max_body_bytes` (by Content-Length or by the
  bytes that arrive), 415 for a body that is not sent as JSON.
- Start-up. The lifespan loads the model and index in a worker thread, so /healthz answers at
  once and /readyz (and every endpoint that needs them) says 503 until they are loaded. A load
  that fails (no model, an index built with another model, an unreadable transcript) is logged;
  `serve` then stops the server and `qa serve` exits 1 with the message, which says how to fix
  it (`qa index`, `qa model prepare`), rather than answer 503 forever.
- Auth. With `api_token` set, every path but /healthz, /readyz and the docs (/docs, /redoc,
  /openapi.json) needs `Authorization: Bearer <token>`, checked before the body is read. The docs
  hold nothing secret, and the Swagger UI must load before one can give it the token.
- One question is encoded at a time, in a worker thread: torch already spreads one over the
  cores, and a Hugging Face tokenizer can fail when two threads use it at once ("Already
  borrowed"). The event loop stays free for /healthz and the other endpoints meanwhile.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from http import HTTPStatus
from typing import Annotated, Any

import anyio
import anyio.to_thread
import uvicorn
from fastapi import Body, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa import __version__
from qa.errors import (
    IndexCorruptError,
    IndexNotFoundError,
    InvalidInputError,
    ModelError,
    NotFoundError,
    QAError,
    TranscriptError,
)
from qa.logs import configure_logging
from qa.search import (
    Limits,
    Result,
    Searcher,
    check_confidence,
    check_question,
    claim_dict,
    open_searcher,
)
from qa.settings import Settings

log = logging.getLogger(__name__)
access_log = logging.getLogger("qa.access")

PROBLEM_JSON = "application/problem+json"
OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
)

# The one table from the core's errors to HTTP statuses (a subclass takes its nearest entry).
_STATUS: dict[type[QAError], int] = {
    InvalidInputError: 422,
    NotFoundError: 404,
    TranscriptError: 503,
    ModelError: 503,
    IndexNotFoundError: 503,
    IndexCorruptError: 503,
}
_REQUEST_ID = re.compile(r"[!-~]{1,128}")  # visible ASCII: safe in a header and a log line
_EXAMPLE_BODY = '{"question": "…", "top_k": 5}'


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


# Request and response shapes (they are also the OpenAPI schema at /docs).


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    question: str = Field(
        description="The question, in Chinese, English or both; at most QA_MAX_QUESTION_CHARS "
        "(default 1000) characters once stripped."
    )
    top_k: int | None = Field(
        default=None,
        description="How many claims to return, 1 to QA_MAX_TOP_K (default 50); "
        "default QA_DEFAULT_TOP_K (5).",
    )
    section: int | None = Field(
        default=None, description="Only search this dialogue (its number, e.g. 7 for 对话七)."
    )
    min_confidence: float | None = Field(
        default=None,
        description="Leave out answers below this confidence, 0 to 1; 0 returns the full "
        "ranking; default QA_MIN_CONFIDENCE.",
    )


class SectionOut(BaseModel):
    number: int
    title: str


class ClaimOut(BaseModel):
    id: str
    text: str
    citations: list[int]
    section: SectionOut


class AnswerOut(BaseModel):
    rank: int
    id: str
    text: str
    citations: list[int]
    section: SectionOut
    score: float = Field(description="The ranking score (higher is better).")
    confidence: float = Field(description="How likely the claim answers the question, 0 to 1.")


class AskResponse(BaseModel):
    question: str
    answered: bool = Field(
        description="False when no claim clears the confidence cut-off: the transcript "
        "probably does not answer the question (and `answers` is empty)."
    )
    answers: list[AnswerOut]
    model: str
    took_ms: float


class SectionSummary(SectionOut):
    claim_count: int


class SourceOut(BaseModel):
    title: str
    publisher: str
    published: str
    sections: list[SectionSummary]


class Alive(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    model: str
    claims: int


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, str]] | None = None


_PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": Problem.model_json_schema()}},
    }
    for status, description in [
        (400, "The body is not valid JSON."),
        (401, "A token is configured (QA_API_TOKEN) and the request lacks it."),
        (404, "No such claim."),
        (413, "The body is larger than QA_MAX_BODY_BYTES."),
        (415, "The body is not sent as application/json."),
        (422, "A field or parameter is missing, of the wrong type or out of range."),
        (503, "The model and index are still loading, or loading them failed."),
    ]
}


def _problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: _PROBLEMS[s] for s in statuses}


_ASK_EXAMPLES: dict[str, Any] = {
    "chinese": {
        "summary": "A question in Chinese",
        "value": {"question": "只用一千道数学题训练,强化学习也能学会吗?", "top_k": 3},
    },
    "english": {
        "summary": "A question in English",
        "value": {"question": "Why is training on language cheaper than on video?", "top_k": 3},
    },
    "section": {
        "summary": "Only within dialogue 7",
        "value": {"question": "强化学习需要多少数据?", "top_k": 2, "section": 7},
    },
}
_Q_EXAMPLES: dict[str, Any] = {
    name: {"summary": example["summary"], "value": example["value"]["question"]}
    for name, example in _ASK_EXAMPLES.items()
    if name != "section"
}
# A real answer: multilingual-e5-small, `POST /ask` with the Chinese example above, top_k 3.
_ASK_RESPONSE_EXAMPLE: dict[str, Any] = {
    "question": "只用一千道数学题训练,强化学习也能学会吗?",
    "answered": True,
    "answers": [
        {
            "rank": 1,
            "id": "d7c2",
            "text": "RL数据效率高得多,可从有限数据中学习,如1000道数学题",
            "citations": [33],
            "section": {"number": 7, "title": "强化学习:是超级优化器,还是科学发现的引擎"},
            "score": 1.1434,
            "confidence": 0.9947,
        },
        {
            "rank": 2,
            "id": "d4c3",
            "text": "强化学习可泛化到更大系统,但需要训练期间接触所有工具,目前难以实现",
            "citations": [22],
            "section": {"number": 4, "title": "Agent的泛化困境:是方法问题,还是根本限制"},
            "score": 1.1172,
            "confidence": 0.975,
        },
        {
            "rank": 3,
            "id": "d7c3",
            "text": "RL只得到一个奖励,没有约束,能很好优化就可以学习",
            "citations": [33],
            "section": {"number": 7, "title": "强化学习:是超级优化器,还是科学发现的引擎"},
            "score": 1.1167,
            "confidence": 0.9743,
        },
    ],
    "model": "intfloat/multilingual-e5-small",
    "took_ms": 32.9,
}


# Problems: the one place exceptions become responses.


def problem_for(request: Request, exc: Exception) -> Response:
    """The `application/problem+json` response for any exception; unexpected ones are logged
    and answered with a 500 that says nothing of their insides."""
    if isinstance(exc, QAError):
        status = next((_STATUS[c] for c in type(exc).__mro__ if c in _STATUS), 500)
        if status >= 500:
            log.error("%s: %s", type(exc).__name__, exc)
        return _problem(request, status, str(exc))
    if isinstance(exc, RequestValidationError):
        errors = [_field_error(e) for e in exc.errors()]
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
        extra={"request_id": _request_id_of(request.scope)},
    )
    detail = "an unexpected error occurred and was logged; quote the request id if you report it"
    return _problem(request, 500, detail)


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
        request_id=_request_id_of(request.scope),
        errors=errors,
    )
    content = body.model_dump(exclude_none=True)
    return JSONResponse(content, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _field_error(error: Any) -> dict[str, str]:
    where, *path = error["loc"]
    name = ".".join(str(p) for p in path)
    if error["type"] == "json_invalid":
        reason = error.get("ctx", {}).get("error", "")
        detail = f"the body is not valid JSON ({reason}): send an object such as {_EXAMPLE_BODY}"
        return {"detail": detail, "pointer": "#"}
    if where == "body" and not path:
        detail = f"the body must be a JSON object such as {_EXAMPLE_BODY}"
    elif error["type"] == "missing":
        detail = f"'{name}' is required"
    elif error["type"] == "extra_forbidden":
        detail = f"'{name}' is not a field: use only {', '.join(AskRequest.model_fields)}"
    else:
        detail = f"'{name}': {error['msg']}"
    if where == "body":
        return {"detail": detail, "pointer": "#/" + "/".join(str(p) for p in path)}
    return {"detail": detail, "parameter": name}


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


async def _handle(request: Request, exc: Exception) -> Response:
    return problem_for(request, exc)


def _request_id_of(scope: Scope) -> str | None:
    state = scope.get("state")
    return state.get("request_id") if isinstance(state, dict) else None


# Middleware, outermost first: observe → CORS → token → body limit → FastAPI.


class _Metrics:
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


class _Observe:
    """A request id, one access-log line and the metrics for every request; and the last
    resort for exceptions nothing inside handled (a problem response, never a bare 500)."""

    def __init__(self, app: ASGIApp, metrics: _Metrics) -> None:
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


class _RequireToken:
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


class _LimitBody:
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


async def _require_json(request: Request) -> None:
    content_type = request.headers.get("content-type")
    media = (content_type or "").split(";")[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise UnsupportedMediaType(content_type)


# The app.


@dataclass
class _State:
    settings: Settings
    searcher: Searcher | None = None
    error: Exception | None = None
    limiter: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(1))

    def ready(self) -> Searcher:
        if self.searcher is not None:
            return self.searcher
        if isinstance(self.error, QAError):
            raise NotReady(f"start-up failed: {self.error}", retry=False)
        if self.error is not None:
            raise NotReady("start-up failed: see the server's log", retry=False)
        raise NotReady("the model and index are still loading: retry in a few seconds", retry=True)

    async def load(self, on_error: Callable[[Exception], None] | None) -> None:
        start = time.perf_counter()
        where = self.settings.index_dir
        log.info("loading model %s and the index in %s", self.settings.model, where)
        try:
            self.searcher = await anyio.to_thread.run_sync(
                partial(open_searcher, self.settings, build=True), abandon_on_cancel=True
            )
        except QAError as exc:
            self.error = exc
            log.error("start-up failed: %s", exc)
        except Exception as exc:
            self.error = exc
            log.exception("start-up failed")
        else:
            claims = len(self.searcher.transcript.claims)
            log.info("ready in %.1fs: %d claims", time.perf_counter() - start, claims)
            return
        if on_error is not None:
            on_error(self.error)


def create_app(
    settings: Settings,
    searcher: Searcher | None = None,
    *,
    on_load_error: Callable[[Exception], None] | None = None,
) -> FastAPI:
    """The service for `settings`. Without `searcher`, start-up loads the model and index in
    the background (building a missing index) and calls `on_load_error` if that fails."""
    state = _State(settings, searcher)
    metrics = _Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state.searcher is not None:
            yield
            return
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(state.load, on_load_error)
            yield
            tasks.cancel_scope.cancel()

    middleware = [Middleware(_Observe, metrics=metrics)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                expose_headers=["X-Request-ID"],
            )
        )
    if settings.api_token:
        middleware.append(Middleware(_RequireToken, token=settings.api_token))
    middleware.append(Middleware(_LimitBody, limit=settings.max_body_bytes))

    app = FastAPI(
        title="qa",
        version=__version__,
        summary="Ask a transcript questions; get back the claims that answer them.",
        lifespan=lifespan,
        middleware=middleware,
        exception_handlers={
            QAError: _handle,
            RequestValidationError: _handle,
            HTTPException: _handle,
        },
    )
    _add_routes(app, state, metrics)
    if settings.api_token:
        _document_bearer(app)
    return app


def _add_routes(app: FastAPI, state: _State, metrics: _Metrics) -> None:
    settings = state.settings

    async def answer(
        question: str, top_k: int | None, section: int | None, min_confidence: float | None
    ) -> dict[str, Any]:
        start = time.perf_counter()
        top_k = settings.default_top_k if top_k is None else top_k
        # Checked before readiness, so bad input is a 4xx even while loading.
        check_question(question, top_k, Limits.from_settings(settings))
        if min_confidence is not None:
            check_confidence(min_confidence)
        searcher = state.ready()
        text = searcher.validate(question, top_k, section)

        def timed_search() -> Result:
            with metrics.search.time():
                return searcher.search(text, top_k, section, min_confidence)

        result = await anyio.to_thread.run_sync(timed_search, limiter=state.limiter)
        return {
            "question": text,
            "answered": result.answered,
            "answers": [a.to_dict() for a in result.answers],
            "model": searcher.encoder.name,
            "took_ms": round((time.perf_counter() - start) * 1000, 1),
        }

    ask_responses: dict[int | str, dict[str, Any]] = {
        200: {"content": {"application/json": {"example": _ASK_RESPONSE_EXAMPLE}}},
        **_problems(401, 422, 503),
    }

    @app.post(
        "/ask",
        response_model=AskResponse,
        summary="Answer a question",
        responses={**ask_responses, **_problems(400, 413, 415)},
        dependencies=[Depends(_require_json)],
    )
    async def ask(body: Annotated[AskRequest, Body(openapi_examples=_ASK_EXAMPLES)]) -> Any:
        """The claims that best answer the question, best first, with their citations."""
        return await answer(body.question, body.top_k, body.section, body.min_confidence)

    @app.get(
        "/ask", response_model=AskResponse, summary="Answer a question", responses=ask_responses
    )
    async def ask_get(
        q: Annotated[str, Query(description="The question.", openapi_examples=_Q_EXAMPLES)],
        top_k: Annotated[int | None, Query(description="How many claims (default 5).")] = None,
        section: Annotated[int | None, Query(description="Only this dialogue.")] = None,
        min_confidence: Annotated[
            float | None, Query(description="Leave out answers below this (0 to 1).")
        ] = None,
    ) -> Any:
        """`POST /ask` for links and curl: the question in `q`."""
        return await answer(q, top_k, section, min_confidence)

    @app.get("/claims", response_model=list[ClaimOut], responses=_problems(401, 503))
    async def claims() -> Any:
        """Every claim of the transcript, in order."""
        transcript = state.ready().transcript
        return [claim_dict(c, transcript.section(c.section)) for c in transcript.claims]

    @app.get("/claims/{claim_id}", response_model=ClaimOut, responses=_problems(401, 404, 503))
    async def claim(claim_id: str) -> Any:
        """One claim, by its id (such as `d7c2`)."""
        transcript = state.ready().transcript
        try:
            found = transcript.claim(claim_id)
        except KeyError:
            raise NotFoundError(f"there is no claim {claim_id!r}: GET /claims lists them") from None
        return claim_dict(found, transcript.section(found.section))

    @app.get("/source", response_model=SourceOut, responses=_problems(401, 503))
    async def source() -> Any:
        """The transcript's title, publisher, date, and its sections with their claim counts."""
        transcript = state.ready().transcript
        return {
            "title": transcript.source.title,
            "publisher": transcript.source.publisher,
            "published": transcript.source.published,
            "sections": [
                {
                    "number": s.number,
                    "title": s.title,
                    "claim_count": sum(c.section == s.number for c in transcript.claims),
                }
                for s in transcript.sections
            ],
        }

    @app.get("/healthz", response_model=Alive)
    async def healthz() -> Any:
        """The process is alive (always 200, even while loading)."""
        return {"status": "alive"}

    @app.get("/readyz", response_model=Ready, responses=_problems(503))
    async def readyz() -> Any:
        """200 once the model and index are loaded; 503 while loading or if loading failed."""
        searcher = state.ready()
        return {
            "status": "ready",
            "model": searcher.encoder.name,
            "claims": len(searcher.transcript.claims),
        }

    @app.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
    )
    async def prometheus() -> Response:
        """Request counts and latencies per route and status, and search times (Prometheus)."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _document_bearer(app: FastAPI) -> None:
    # The token is checked by `_RequireToken`; this only lets /docs send it ("Authorize").
    schema = app.openapi()
    schema.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer"}
    }
    for path, operations in schema["paths"].items():
        if path not in OPEN_PATHS:
            for operation in operations.values():
                operation["security"] = [{"bearer": []}]


def serve(settings: Settings) -> None:
    """Serve with uvicorn until interrupted. If start-up fails, stop and raise its error."""
    configure_logging(settings.log_format)
    failures: list[Exception] = []

    def stop(exc: Exception) -> None:
        failures.append(exc)
        server.should_exit = True

    app = create_app(settings, on_load_error=stop)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    server.run()
    if failures:
        if isinstance(failures[0], QAError):
            raise failures[0]
        raise QAError("start-up failed: the log above says why")
