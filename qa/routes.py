"""The endpoints: /ask, /query, /claims, /source, /healthz, /readyz and /metrics, and the loaded
state they read (the searcher, or why it is not there yet)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Body, Depends, FastAPI, Query
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from qa.context import render_context
from qa.errors import QAError
from qa.middleware import Metrics, require_json
from qa.problems import NotReady
from qa.schemas import (
    ASK_EXAMPLES,
    ASK_RESPONSE_EXAMPLE,
    Q_EXAMPLES,
    QUERY_EXAMPLES,
    Alive,
    AskRequest,
    AskResponse,
    ClaimOut,
    QueryRequest,
    QueryResponse,
    Ready,
    SourceOut,
    problems,
)
from qa.search import (
    Answer,
    Limits,
    Question,
    Result,
    Searcher,
    check_confidence,
    check_question,
    claim_dict,
    open_searcher,
)
from qa.settings import Settings
from qa.transcript import Transcript

# Still "qa.api", as before the endpoints moved here: the service logs under one name.
log = logging.getLogger("qa.api")


@dataclass
class State:
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


def add_routes(app: FastAPI, state: State, metrics: Metrics) -> None:
    settings = state.settings
    limits = Limits.from_settings(settings)

    async def search(questions: list[Question]) -> tuple[Searcher, list[Result]]:
        # Checked before readiness, so bad input is a 4xx even while loading.
        for q in questions:
            check_question(q.text, q.top_k, limits)
            if q.min_confidence is not None:
                check_confidence(q.min_confidence)
        searcher = state.ready()
        for q in questions:
            searcher.validate(q.text, q.top_k, q.section)

        def timed_search() -> list[Result]:
            with metrics.search.time():
                # One question goes through `search`, the core's single-question entry point.
                if len(questions) == 1:
                    (q,) = questions
                    return [searcher.search(q.text, q.top_k, q.section, q.min_confidence)]
                return searcher.search_many(questions)

        results = await anyio.to_thread.run_sync(timed_search, limiter=state.limiter)
        return searcher, results

    async def answer(
        question: str,
        top_k: int | None,
        section: int | None,
        min_confidence: float | None,
        context: bool,
    ) -> dict[str, Any]:
        start = time.perf_counter()
        top_k = settings.default_top_k if top_k is None else top_k
        searcher, (result,) = await search([Question(question, top_k, section, min_confidence)])
        body = {
            "question": result.question,
            "answered": result.answered,
            "answers": [a.to_dict() for a in result.answers],
            "unknown_names": list(result.unknown_names),
            "model": searcher.encoder.name,
            "took_ms": round((time.perf_counter() - start) * 1000, 1),
        }
        if context:
            body["context"] = render_context(result, searcher.transcript.source)
        return body

    async def answer_queries(body: QueryRequest) -> dict[str, Any]:
        questions = [
            Question(
                q.query,
                3 if q.top_k is None else q.top_k,
                q.filter.section if q.filter else None,
                q.min_confidence,
            )
            for q in body.queries
        ]
        searcher, results = await search(questions)
        transcript = searcher.transcript
        out = []
        for q, result in zip(body.queries, results, strict=True):
            wanted = q.filter.document_id if q.filter else None
            if wanted is not None and wanted != transcript.sha256:
                result = replace(result, answers=(), answered=False)
            item: dict[str, Any] = {
                "query": q.query,
                "results": [_chunk(a, transcript) for a in result.answers],
                "answered": result.answered,
                "unknown_names": list(result.unknown_names),
            }
            if body.context:
                item["context"] = render_context(result, transcript.source)
            out.append(item)
        return {"results": out}

    ask_responses: dict[int | str, dict[str, Any]] = {
        200: {"content": {"application/json": {"example": ASK_RESPONSE_EXAMPLE}}},
        **problems(401, 422, 503),
    }

    @app.post(
        "/ask",
        response_model=AskResponse,
        response_model_exclude_unset=True,
        summary="Answer a question",
        responses={**ask_responses, **problems(400, 413, 415)},
        dependencies=[Depends(require_json)],
    )
    async def ask(body: Annotated[AskRequest, Body(openapi_examples=ASK_EXAMPLES)]) -> Any:
        """The claims that best answer the question, best first, with their citations."""
        return await answer(
            body.question, body.top_k, body.section, body.min_confidence, body.context
        )

    @app.get(
        "/ask",
        response_model=AskResponse,
        response_model_exclude_unset=True,
        summary="Answer a question",
        responses=ask_responses,
    )
    async def ask_get(
        q: Annotated[str, Query(description="The question.", openapi_examples=Q_EXAMPLES)],
        top_k: Annotated[int | None, Query(description="How many claims (default 5).")] = None,
        section: Annotated[int | None, Query(description="Only this dialogue.")] = None,
        min_confidence: Annotated[
            float | None, Query(description="Leave out answers below this (0 to 1).")
        ] = None,
        context: Annotated[
            bool, Query(description="Also return the prompt-ready `context` block.")
        ] = False,
    ) -> Any:
        """`POST /ask` for links and curl: the question in `q`."""
        return await answer(q, top_k, section, min_confidence, context)

    @app.post(
        "/query",
        response_model=QueryResponse,
        response_model_exclude_unset=True,
        summary="Search the transcript (ChatGPT retrieval plugin API)",
        responses=problems(400, 401, 413, 415, 422, 503),
        dependencies=[Depends(require_json)],
    )
    async def query(body: Annotated[QueryRequest, Body(openapi_examples=QUERY_EXAMPLES)]) -> Any:
        """The claims of the transcript that answer each query, best first: the
        `POST /query` of the ChatGPT retrieval plugin, so its clients (LangChain's
        `ChatGPTPluginRetriever`, LlamaIndex's `ChatGPTRetrievalPluginReader`) work unchanged.

        Each result's `text` is one claim; `metadata.citations` are its citation numbers:
        cite the claim with them, e.g. [6][7]. `metadata.section` and `section_title` say which
        dialogue it is from, `confidence` how likely it answers the query. Claims below the
        confidence cut-off are left out, so an empty `results` (and `answered: false`) means
        the transcript does not answer that query: say so rather than guess. Ask for
        `"context": true` to get each answer as a block of text ready for a prompt."""
        return await answer_queries(body)

    @app.get("/claims", response_model=list[ClaimOut], responses=problems(401, 503))
    async def claims() -> Any:
        """Every claim of the transcript, in order."""
        transcript = state.ready().transcript
        return [claim_dict(c, transcript.section(c.section)) for c in transcript.claims]

    @app.get("/claims/{claim_id}", response_model=ClaimOut, responses=problems(401, 404, 503))
    async def claim(claim_id: str) -> Any:
        """One claim, by its id (such as `d7c2`)."""
        transcript = state.ready().transcript
        found = transcript.claim(claim_id)
        return claim_dict(found, transcript.section(found.section))

    @app.get("/source", response_model=SourceOut, responses=problems(401, 503))
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

    @app.get("/readyz", response_model=Ready, responses=problems(503))
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


def _chunk(answer: Answer, transcript: Transcript) -> dict[str, Any]:
    # One claim as the retrieval plugin's DocumentChunkWithScore, with our fields added.
    source = transcript.source
    return {
        "id": answer.claim.id,
        "text": answer.claim.text,
        "metadata": {
            "source": "chat",
            "source_id": answer.claim.id,
            "url": None,
            "created_at": source.published,
            "author": source.publisher,
            "document_id": transcript.sha256,
            "citations": list(answer.claim.citations),
            "section": answer.section.number,
            "section_title": answer.section.title,
            "source_title": source.title,
            "publisher": source.publisher,
            "published": source.published,
            "confidence": round(answer.confidence, 4),
        },
        "embedding": None,
        "score": round(answer.score, 4),
    }
