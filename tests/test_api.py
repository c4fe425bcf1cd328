"""The HTTP API in process: FastAPI's TestClient over a real FAISS index built with a fast,
deterministic fake encoder (the real model over a real server is in test_api_e2e.py)."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

import qa.api
import qa.routes
from qa.api import create_app
from qa.errors import IndexCorruptError
from qa.index import build_index
from qa.logs import JsonFormatter
from qa.model import Encoded, Encoder
from qa.search import Limits, Searcher
from qa.settings import Settings
from qa.transcript import bundled_transcript, load_transcript

PROBLEM = "application/problem+json"
D7C2 = "RL数据效率高得多,可从有限数据中学习,如1000道数学题"


class HashEncoder(Encoder):
    """Each word (or CJK character) gets a fixed random unit vector seeded by its hash, so a
    claim's own text finds that claim first; no model, no torch."""

    def __init__(self) -> None:
        super().__init__(None, "fake/hash", "query: ", "passage: ")  # type: ignore[arg-type]

    @property
    def dimension(self) -> int:
        return 32

    @cached_property
    def fingerprint(self) -> str:
        return "fake-hash"

    def encode_tokens(
        self, texts: Sequence[str], *, query: bool, show_progress: bool = False
    ) -> list[Encoded]:
        return [self._encode(text) for text in texts]

    def _encode(self, text: str) -> Encoded:
        words = re.findall(r"[a-z0-9]+|[^\W\da-z_]", text.lower()) or ["-"]
        seeds = [int(hashlib.sha256(w.encode()).hexdigest()[:12], 16) for w in words]
        tokens = np.stack([np.random.default_rng(s).standard_normal(32) for s in seeds])
        tokens /= np.linalg.norm(tokens, axis=1, keepdims=True)
        sentence = tokens.mean(axis=0)
        sentence /= np.linalg.norm(sentence)
        ids = np.array([s % 250_000 for s in seeds], dtype=np.int64)
        return Encoded(sentence.astype(np.float32), tokens.astype(np.float32), ids)


@pytest.fixture(scope="module")
def searcher(tmp_path_factory: pytest.TempPathFactory) -> Searcher:
    encoder = HashEncoder()
    transcript = load_transcript(bundled_transcript())
    index = build_index(transcript, encoder, tmp_path_factory.mktemp("fake-index"))
    return Searcher(index, encoder, Limits(), min_confidence=0.0)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(index_dir=tmp_path / "index", min_confidence=0.0)


@contextmanager
def serving(
    settings: Settings, searcher: Searcher | None, **overrides: Any
) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update=overrides), searcher)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def client(settings: Settings, searcher: Searcher) -> Iterator[TestClient]:
    with serving(settings, searcher) as client:
        yield client


def assert_problem(response: Any, status: int, detail: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert body["title"]
    assert detail in body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


# Asking


def test_ask_returns_the_claim_whose_text_is_asked(client: TestClient) -> None:
    response = client.post("/ask", json={"question": D7C2, "top_k": 3})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"question", "answered", "answers", "unknown_names", "model", "took_ms"}
    assert body["unknown_names"] == []
    assert body["question"] == D7C2
    assert body["model"] == "fake/hash"
    assert body["took_ms"] >= 0
    assert body["answered"] is True
    assert [a["rank"] for a in body["answers"]] == [1, 2, 3]
    first = body["answers"][0]
    assert first == {
        "rank": 1,
        "id": "d7c2",
        "text": D7C2,
        "citations": [33],
        "section": {"number": 7, "title": "强化学习:是超级优化器,还是科学发现的引擎"},
        "score": first["score"],
        "confidence": first["confidence"],
    }


def test_ask_by_get_answers_like_post(client: TestClient) -> None:
    posted = client.post("/ask", json={"question": D7C2, "top_k": 2}).json()
    got = client.get("/ask", params={"q": D7C2, "top_k": 2}).json()
    assert got["answers"] == posted["answers"]


def test_ask_strips_the_question_and_defaults_top_k(client: TestClient) -> None:
    body = client.post("/ask", json={"question": f"  {D7C2}\n"}).json()
    assert body["question"] == D7C2
    assert len(body["answers"]) == Settings().default_top_k


def test_ask_within_a_section_returns_only_that_section(client: TestClient) -> None:
    body = client.post("/ask", json={"question": D7C2, "top_k": 10, "section": 9}).json()
    assert {a["section"]["number"] for a in body["answers"]} == {9}


def test_ask_leaves_out_answers_below_min_confidence(client: TestClient) -> None:
    body = client.get("/ask", params={"q": "zzz qqq", "min_confidence": 1}).json()
    assert body == {**body, "answered": False, "answers": []}


def test_ask_and_query_say_which_names_the_transcript_never_uses(client: TestClient) -> None:
    question = "Kaiser 怎么看 DeepSeek 和 Mamba?"
    asked = client.post("/ask", json={"question": question}).json()
    assert asked["unknown_names"] == ["DeepSeek", "Mamba"]
    queried = client.post("/query", json={"queries": [{"query": question}]}).json()
    assert queried["results"][0]["unknown_names"] == ["DeepSeek", "Mamba"]


def test_ask_runs_the_search_off_the_event_loop(
    client: TestClient, searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    search = searcher.search

    def recording(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return search(*args, **kwargs)

    monkeypatch.setattr(searcher, "search", recording)
    assert client.get("/ask", params={"q": D7C2}).status_code == 200
    assert threads and "AnyIO worker thread" in threads[0]


# Bad input: always a 4xx problem that says what to change


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"question": ""}, 422, "the question is empty"),
        ({"question": " \n\t "}, 422, "the question is empty"),
        ({"question": "问" * 1001}, 422, "the limit is 1000"),
        ({"question": "语言", "top_k": 0}, 422, "top_k must be between 1 and 50"),
        ({"question": "语言", "top_k": 51}, 422, "top_k must be between 1 and 50"),
        ({"question": "语言", "section": 99}, 422, "there is no section 99"),
        ({"question": "语言", "min_confidence": 2}, 422, "min_confidence must be between 0"),
        ({"question": "语言", "k": 3}, 422, "'k' is not a field: use only question, top_k"),
        ({"top_k": 3}, 422, "'question' is required"),
        ({"question": 42}, 422, "'question': Input should be a valid string"),
        ({"question": "语言", "top_k": "3"}, 422, "'top_k': Input should be a valid integer"),
        ({"question": "语言", "top_k": 2.5}, 422, "'top_k': Input should be a valid integer"),
        ({"question": "语言", "top_k": True}, 422, "'top_k': Input should be a valid integer"),
        (["语言"], 422, "the body must be a JSON object"),
    ],
)
def test_ask_rejects_bad_bodies_with_a_problem(
    client: TestClient, body: Any, status: int, detail: str
) -> None:
    assert_problem(client.post("/ask", json=body), status, detail)


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({}, "'q' is required"),
        ({"q": ""}, "the question is empty"),
        ({"q": "语言", "top_k": "many"}, "'top_k': Input should be a valid integer"),
        ({"q": "语言", "top_k": "0"}, "top_k must be between 1 and 50"),
        ({"q": "语言", "section": "11"}, "there is no section 11"),
        ({"q": "语言", "min_confidence": "nan"}, "min_confidence must be between 0"),
    ],
)
def test_ask_by_get_rejects_bad_parameters(
    client: TestClient, params: dict[str, str], detail: str
) -> None:
    assert_problem(client.get("/ask", params=params), 422, detail)


def test_ask_rejects_invalid_json_with_400(client: TestClient) -> None:
    response = client.post(
        "/ask", content=b'{"question": "x",', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 400, "the body is not valid JSON")
    assert body["errors"] == [{"detail": body["detail"], "pointer": "#"}]


def test_validation_problems_list_each_field(client: TestClient) -> None:
    body = assert_problem(client.post("/ask", json={"question": 1, "top_k": "x"}), 422, "")
    assert [e["pointer"] for e in body["errors"]] == ["#/question", "#/top_k"]
    assert body["instance"] == "/ask"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_ask_rejects_a_body_not_sent_as_json_with_415(
    client: TestClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/ask", content=b'{"question": "x"}', headers=headers)
    assert_problem(response, 415, "Content-Type: application/json")


def test_ask_accepts_json_with_a_charset(client: TestClient) -> None:
    response = client.post(
        "/ask",
        content=json.dumps({"question": D7C2}).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200


def test_ask_rejects_a_body_over_the_limit_by_content_length(client: TestClient) -> None:
    response = client.post("/ask", json={"question": "问" * 30_000})
    assert int(response.request.headers["content-length"]) > 64 * 1024
    assert_problem(response, 413, "over 65536 bytes")


def test_ask_rejects_a_streamed_body_over_the_limit(client: TestClient) -> None:
    chunks = (b"x" * 1024 for _ in range(100))
    response = client.post("/ask", content=chunks, headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "over 65536 bytes")


def test_unknown_path_is_a_404_problem(client: TestClient) -> None:
    assert_problem(client.get("/nothing"), 404, "there is no /nothing")


def test_wrong_method_is_a_405_problem(client: TestClient) -> None:
    response = client.delete("/ask")
    assert_problem(response, 405, "DELETE is not allowed on /ask: use GET, POST")
    assert response.headers["allow"] == "GET, POST"


def test_unexpected_error_is_a_500_problem_that_leaks_nothing(
    client: TestClient,
    searcher: Searcher,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(searcher, "search", broken)
    response = client.post("/ask", json={"question": "语言"})
    body = assert_problem(response, 500, "quote the request id")
    assert "secret" not in response.text
    logged = [r for r in caplog.records if r.name == "qa.api" and r.exc_info]
    assert "secret internals" in str(logged[0].exc_info[1])  # type: ignore[index]
    assert logged[0].request_id == body["request_id"]  # type: ignore[attr-defined]


# Claims and source


def test_claims_lists_every_claim(client: TestClient) -> None:
    claims = client.get("/claims").json()
    assert len(claims) == 41
    assert claims[0] == {
        "id": "d1c1",
        "text": claims[0]["text"],
        "citations": [6, 7],
        "section": {"number": 1, "title": "语言对于智能到底意味着什么"},
    }


def test_claim_by_id(client: TestClient) -> None:
    claim = client.get("/claims/d7c2").json()
    assert claim["text"] == D7C2
    assert claim["citations"] == [33]


def test_unknown_claim_is_a_404_problem(client: TestClient) -> None:
    assert_problem(
        client.get("/claims/d99c1"), 404, "there is no claim 'd99c1'; claims are d1c1 to d10c4"
    )


def test_source_names_the_transcript_and_counts_claims_per_section(client: TestClient) -> None:
    source = client.get("/source").json()
    assert source["title"]
    assert source["publisher"] == "AI科技大本营"
    assert source["published"].startswith("2025-10-10")
    assert [s["number"] for s in source["sections"]] == list(range(1, 11))
    assert source["sections"][6] == {
        "number": 7,
        "title": "强化学习:是超级优化器,还是科学发现的引擎",
        "claim_count": source["sections"][6]["claim_count"],
    }
    assert sum(s["claim_count"] for s in source["sections"]) == 41


# Health and readiness


def test_healthz_and_readyz_answer_when_loaded(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "alive"}
    assert client.get("/readyz").json() == {"status": "ready", "model": "fake/hash", "claims": 41}


def test_readyz_is_503_while_loading_then_200(
    settings: Settings, searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = threading.Event()

    def slow_open(*args: Any, **kwargs: Any) -> Searcher:
        assert gate.wait(10)
        return searcher

    monkeypatch.setattr(qa.routes, "open_searcher", slow_open)
    with serving(settings, None) as client:
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        assert_problem(response, 503, "still loading")
        assert response.headers["retry-after"] == "5"
        assert_problem(client.get("/claims"), 503, "still loading")
        assert_problem(client.post("/ask", json={"question": ""}), 422, "empty")
        gate.set()
        for _ in range(200):
            if client.get("/readyz").status_code == 200:
                break
            time.sleep(0.05)
        assert client.get("/readyz").status_code == 200


def test_failed_start_up_is_reported_and_503(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    failure = IndexCorruptError("index was built with model x: run `qa index` to rebuild it")
    reported: list[Exception] = []

    def failing_open(*args: Any, **kwargs: Any) -> Searcher:
        raise failure

    monkeypatch.setattr(qa.routes, "open_searcher", failing_open)
    app = create_app(settings, on_load_error=reported.append)
    with TestClient(app) as client:
        for _ in range(200):
            if reported:
                break
            time.sleep(0.05)
        assert reported == [failure]
        response = client.get("/readyz")
        assert_problem(response, 503, "start-up failed: index was built with model x: run `qa")
        assert "retry-after" not in response.headers
        assert client.get("/healthz").status_code == 200


def test_serve_exits_with_the_start_up_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from qa.cli import main

    def failing_open(*args: Any, **kwargs: Any) -> Searcher:
        raise IndexCorruptError("index was built with another model: run `qa index`")

    monkeypatch.setattr(qa.routes, "open_searcher", failing_open)
    monkeypatch.setattr(qa.api, "configure_logging", lambda log_format: None)
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", "error")
    code = main(["serve", "--port", "0", "--index-dir", str(tmp_path)])
    assert code == 1
    assert (
        "qa: error: index was built with another model: run `qa index`" in capsys.readouterr().err
    )


# Auth


@pytest.fixture
def locked(settings: Settings, searcher: Searcher) -> Iterator[TestClient]:
    with serving(settings, searcher, api_token="s3cret") as client:
        yield client


@pytest.mark.parametrize("path", ["/ask?q=x", "/claims", "/claims/d1c1", "/source", "/metrics"])
def test_token_is_required_when_configured(locked: TestClient, path: str) -> None:
    response = locked.get(path)
    assert_problem(response, 401, "Authorization: Bearer <token>")
    assert response.headers["www-authenticate"] == "Bearer"


def test_wrong_token_is_refused(locked: TestClient) -> None:
    for header in ["Bearer wrong", "Basic s3cret", "Bearer", "s3cret"]:
        response = locked.get("/claims", headers={"authorization": header})
        assert_problem(response, 401, "not the one this server was started with")
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_token_is_checked_before_the_body(locked: TestClient) -> None:
    response = locked.post("/ask", content=b"{", headers={"content-type": "application/json"})
    assert response.status_code == 401


def test_right_token_is_accepted(locked: TestClient) -> None:
    headers = {"authorization": "bearer s3cret"}
    assert locked.post("/ask", json={"question": D7C2}, headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/docs", "/openapi.json"])
def test_health_and_docs_stay_open_with_a_token(locked: TestClient, path: str) -> None:
    assert locked.get(path).status_code == 200


def test_openapi_documents_the_bearer_token_when_configured(locked: TestClient) -> None:
    schema = locked.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert schema["paths"]["/ask"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in schema["paths"]["/healthz"]["get"]


def test_no_token_is_needed_by_default(client: TestClient) -> None:
    assert client.get("/claims").status_code == 200
    assert "securitySchemes" not in client.get("/openapi.json").json().get("components", {})


# CORS


def test_cors_allows_configured_origins_only(settings: Settings, searcher: Searcher) -> None:
    with serving(settings, searcher, cors_origins=["https://app.example"]) as client:
        preflight = client.options(
            "/ask",
            headers={
                "origin": "https://app.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        got = client.get("/claims", headers={"origin": "https://app.example"})
        assert got.headers["access-control-allow-origin"] == "https://app.example"
        assert "x-request-id" in got.headers["access-control-expose-headers"].lower()
        other = client.get("/claims", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_cors_headers_reach_the_browser_on_refusals(settings: Settings, searcher: Searcher) -> None:
    origin = {"origin": "https://app.example"}
    overrides = {"cors_origins": ["https://app.example"], "api_token": "s3cret"}
    with serving(settings, searcher, **overrides) as client:
        preflight = client.options(
            "/ask", headers={**origin, "access-control-request-method": "POST"}
        )
        assert preflight.status_code == 200
        refused = client.get("/claims", headers=origin)
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == "https://app.example"
        too_large = client.post(
            "/ask",
            json={"question": "问" * 30_000},
            headers={**origin, "authorization": "Bearer s3cret"},
        )
        assert too_large.status_code == 413
        assert too_large.headers["access-control-allow-origin"] == "https://app.example"


def test_cors_is_off_by_default(client: TestClient) -> None:
    got = client.get("/claims", headers={"origin": "https://app.example"})
    assert "access-control-allow-origin" not in got.headers


# Observability


def test_metrics_count_requests_per_route_and_time_searches(client: TestClient) -> None:
    client.post("/ask", json={"question": D7C2})
    client.get("/claims/d1c1")
    client.get("/claims/nope")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'qa_http_requests_total{method="POST",route="/ask",status="200"} 1.0' in text
    assert 'qa_http_requests_total{method="GET",route="/claims/{claim_id}",status="200"} 1.0' in (
        text
    )
    assert 'qa_http_requests_total{method="GET",route="/claims/{claim_id}",status="404"} 1.0' in (
        text
    )
    assert 'qa_http_request_duration_seconds_bucket{le="0.005",method="POST"' in text
    assert "qa_search_duration_seconds_count 1.0" in text


def test_each_app_has_its_own_metrics(settings: Settings, searcher: Searcher) -> None:
    first = create_app(settings, searcher)
    second = create_app(settings, searcher)
    with TestClient(first) as a, TestClient(second) as b:
        a.get("/healthz")
        assert 'route="/healthz"' in a.get("/metrics").text
        assert 'route="/healthz"' not in b.get("/metrics").text


def test_request_id_is_generated_or_echoed(client: TestClient) -> None:
    generated = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    echoed = client.get("/healthz", headers={"x-request-id": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    unsafe = client.get("/healthz", headers={"x-request-id": "two words"})
    assert unsafe.headers["x-request-id"] != "two words"


def test_one_log_line_per_request(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="qa.access"):
        client.get("/claims/nope", headers={"x-request-id": "req-1"})
    (record,) = [r for r in caplog.records if r.name == "qa.access"]
    assert re.fullmatch(r"GET /claims/nope 404 \d+\.\dms", record.getMessage())
    line = json.loads(JsonFormatter().format(record))
    assert line["logger"] == "qa.access"
    assert line["level"] == "INFO"
    assert {k: line[k] for k in ("method", "path", "status", "request_id")} == {
        "method": "GET",
        "path": "/claims/nope",
        "status": 404,
        "request_id": "req-1",
    }
    assert line["duration_ms"] >= 0


def test_openapi_has_chinese_and_english_examples_and_a_real_answer(client: TestClient) -> None:
    ask = client.get("/openapi.json").json()["paths"]["/ask"]["post"]
    examples = ask["requestBody"]["content"]["application/json"]["examples"]
    questions = [e["value"]["question"] for e in examples.values()]
    assert any(re.search(r"[\u4e00-\u9fff]", q) for q in questions)
    assert any(q.isascii() for q in questions)
    answer = ask["responses"]["200"]["content"]["application/json"]["example"]
    assert answer["answers"][0]["id"] == "d7c2"
    assert PROBLEM in ask["responses"]["422"]["content"]


def test_importing_the_core_does_not_import_fastapi() -> None:
    code = (
        "import sys, qa.search, qa.cli\n"
        "print(sorted({'fastapi', 'starlette', 'uvicorn'} & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_json_log_format_writes_one_json_object_a_line() -> None:
    code = (
        "import logging\n"
        "from qa.logs import configure_logging\n"
        "configure_logging('json')\n"
        "logging.getLogger('qa.access').info('GET / 200', extra={'status': 200})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    line = json.loads(done.stderr)
    assert line["message"] == "GET / 200"
    assert line["status"] == 200
    assert line["logger"] == "qa.access"
