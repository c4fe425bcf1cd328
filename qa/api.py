"""The HTTP service: `create_app(settings)` answers questions over one transcript's claims.

Decisions, so that clients can rely on them:

- Errors. Every error is `application/problem+json` (RFC 9457): `type` "about:blank" (the
  status says what kind of problem it is), `title`, `status`, `detail` (what to change),
  `instance` (the path) and `request_id`; validation errors add `errors`, one per field.
  `qa.problems` holds the one table from the core's errors to statuses and `problem_for`, the
  one place that turns any exception into a response; `qa.middleware` the ASGI middleware,
  `qa.schemas` the request and response models.
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
- Chatbots. `POST /query` is the ChatGPT retrieval plugin's API (LangChain's and LlamaIndex's
  clients for it work unchanged); several queries are encoded in one batch. /mcp serves the
  same search as an MCP tool (streamable HTTP, `qa.mcp_server`). `/ask` and `/query` return
  the prompt-ready `context` block (`qa.context`) when asked.
- One encoding (of a question or a batch) runs at a time, in a worker thread: torch already
  spreads one over the cores, and a Hugging Face tokenizer can fail when two threads use it at
  once ("Already borrowed"). The event loop stays free for /healthz and the rest meanwhile.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import anyio
import uvicorn
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from qa import __version__
from qa.errors import QAError
from qa.logs import configure_logging
from qa.mcp_server import build_server
from qa.middleware import OPEN_PATHS, LimitBody, Metrics, Observe, RequireToken
from qa.problems import NotReady, handle
from qa.routes import State, add_routes
from qa.search import Searcher
from qa.settings import Settings


def create_app(
    settings: Settings,
    searcher: Searcher | None = None,
    *,
    on_load_error: Callable[[Exception], None] | None = None,
) -> FastAPI:
    """The service for `settings`. Without `searcher`, start-up loads the model and index in
    the background (building a missing index) and calls `on_load_error` if that fails."""
    state = State(settings, searcher)
    metrics = Metrics()
    mcp = _McpEndpoint(state)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with mcp.running(), anyio.create_task_group() as tasks:
            if state.searcher is None:
                tasks.start_soon(state.load, on_load_error)
            yield
            tasks.cancel_scope.cancel()

    middleware = [Middleware(Observe, metrics=metrics)]
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
        middleware.append(Middleware(RequireToken, token=settings.api_token))
    middleware.append(Middleware(LimitBody, limit=settings.max_body_bytes))

    app = FastAPI(
        title="qa",
        version=__version__,
        summary="Ask a transcript questions; get back the claims that answer them.",
        lifespan=lifespan,
        middleware=middleware,
        exception_handlers={
            QAError: handle,
            RequestValidationError: handle,
            HTTPException: handle,
        },
    )
    add_routes(app, state, metrics)
    # Streamable HTTP (MCP) at /mcp: outside the OpenAPI schema, inside the middleware (token).
    app.router.routes.append(Route("/mcp", mcp, methods=["GET", "POST", "DELETE"]))
    if settings.api_token:
        _document_bearer(app)
    return app


class _McpEndpoint:
    """The MCP server's streamable HTTP transport. The SDK's session manager runs once per
    lifespan, so each lifespan builds a fresh one; until it runs, /mcp answers 503."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.app: ASGIApp | None = None

    def _searcher(self) -> Searcher:
        try:
            return self.state.ready()
        except NotReady as exc:
            raise QAError(exc.detail) from None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        server = build_server(self._searcher, self.state.limiter)
        settings = self.state.settings
        app = server.streamable_http_app(streamable_http_path="/mcp", host=settings.host)
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(server.session_manager.run())
            self.app = app
            stack.callback(setattr, self, "app", None)
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            raise NotReady("the MCP endpoint is not running: retry in a few seconds", retry=True)
        await self.app(scope, receive, send)


def _document_bearer(app: FastAPI) -> None:
    # The token is checked by `RequireToken`; this only lets /docs send it ("Authorize").
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
