"""The HTTP service end to end: uvicorn on a free 127.0.0.1 port, the real model and a real
index, spoken to with httpx. Every request has a timeout; every server stops at teardown."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from live import running

import qa.api
import qa.routes
from qa.api import create_app, serve
from qa.errors import IndexCorruptError
from qa.search import Searcher
from qa.settings import Settings

TIMEOUT = httpx.Timeout(30.0)
PROBLEM = "application/problem+json"


def wait_until(condition: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def client(real_settings: Settings, real_searcher: Searcher) -> Iterator[httpx.Client]:
    with running(create_app(real_settings, real_searcher)) as client:
        yield client


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["answers"]]


def test_chinese_question_finds_its_claim(client: httpx.Client) -> None:
    response = client.post(
        "/ask", json={"question": "只用一千道数学题训练,强化学习也能学会吗?", "top_k": 3}
    )
    assert "d7c2" in ids(response)
    body = response.json()
    assert body["answered"] is True
    assert body["model"] == "intfloat/multilingual-e5-small"
    assert response.headers["x-request-id"]


def test_english_question_by_get_finds_its_claim(client: httpx.Client) -> None:
    question = "Why is training on language cheaper than training on video?"
    assert "d1c3" in ids(client.get("/ask", params={"q": question, "top_k": 3}))


def test_section_restricts_the_answers_to_one_dialogue(client: httpx.Client) -> None:
    response = client.get("/ask", params={"q": "memory", "section": 9, "min_confidence": 0})
    assert {a["section"]["number"] for a in response.json()["answers"]} == {9}


@pytest.mark.parametrize(
    ("request_kwargs", "status", "detail"),
    [
        ({"json": {"question": "  "}}, 422, "the question is empty"),
        ({"json": {"question": "问" * 1001}}, 422, "the limit is 1000"),
        ({"json": {"question": "语言", "top_k": 99}}, 422, "top_k must be between 1 and 50"),
        ({"json": {"question": "语言", "section": 11}}, 422, "there is no section 11"),
        ({"json": {"question": "语言", "lang": "zh"}}, 422, "'lang' is not a field"),
        ({"json": {"question": ["语言"]}}, 422, "'question': Input should be a valid string"),
        (
            {"content": b"{question: 1}", "headers": {"content-type": "application/json"}},
            400,
            "not valid JSON",
        ),
        ({"content": b"question=1", "headers": {"content-type": "text/plain"}}, 415, "as JSON"),
        ({"json": {"question": "问" * 40_000}}, 413, "over 65536 bytes"),
        (
            {
                "content": (b" " * 4096 for _ in range(20)),
                "headers": {"content-type": "application/json"},
            },
            413,
            "over 65536 bytes",
        ),
    ],
)
def test_bad_input_gets_a_problem_not_a_500(
    client: httpx.Client, request_kwargs: dict[str, Any], status: int, detail: str
) -> None:
    response = client.post("/ask", **request_kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert detail in body["detail"]


def test_unknown_claim_is_a_404_problem(client: httpx.Client) -> None:
    response = client.get("/claims/d0c0")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


def test_token_is_required_when_configured(
    real_settings: Settings, real_searcher: Searcher
) -> None:
    settings = real_settings.model_copy(update={"api_token": "e2e-token"})
    with running(create_app(settings, real_searcher)) as client:
        refused = client.get("/ask", params={"q": "语言"})
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        assert refused.headers["content-type"] == PROBLEM
        wrong = client.get("/claims", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        allowed = client.get(
            "/ask", params={"q": "语言"}, headers={"authorization": "Bearer e2e-token"}
        )
        assert allowed.status_code == 200
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200


def test_no_token_is_needed_without_one(client: httpx.Client) -> None:
    assert client.get("/claims").status_code == 200


def test_healthz_answers_while_a_question_is_encoded(
    client: httpx.Client, real_searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    encode = real_searcher.encoder.encode_tokens

    def held(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert release.wait(30)
        return encode(*args, **kwargs)

    monkeypatch.setattr(real_searcher.encoder, "encode_tokens", held)
    answers: list[httpx.Response] = []
    question = {"question": "只用一千道数学题训练,强化学习也能学会吗?", "top_k": 3}
    url = client.base_url.join("/ask")  # its own connection: clients are not shared by threads
    asking = threading.Thread(
        target=lambda: answers.append(httpx.post(url, json=question, timeout=TIMEOUT))
    )
    asking.start()
    try:
        assert entered.wait(30), "the question never reached the encoder"
        start = time.perf_counter()
        assert client.get("/healthz", timeout=2).status_code == 200
        assert client.get("/claims/d7c2", timeout=2).status_code == 200
        assert time.perf_counter() - start < 1.0
        assert not answers, "the question was answered while its encoder was held"
    finally:
        release.set()
        asking.join(timeout=30)
    assert "d7c2" in ids(answers[0])


def test_readyz_is_503_until_the_model_and_index_are_loaded(
    real_settings: Settings, real_searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # real_searcher has built the index in real_settings.index_dir; start-up loads it anew.
    gate = threading.Event()
    open_searcher = qa.routes.open_searcher

    def gated(*args: Any, **kwargs: Any) -> Searcher:
        assert gate.wait(30)
        return open_searcher(*args, **kwargs)

    monkeypatch.setattr(qa.routes, "open_searcher", gated)
    with running(create_app(real_settings)) as client:
        loading = client.get("/readyz")
        assert loading.status_code == 503
        assert loading.headers["content-type"] == PROBLEM
        assert "still loading" in loading.json()["detail"]
        assert client.get("/healthz").status_code == 200
        assert client.post("/ask", json={"question": "语言"}).status_code == 503
        gate.set()
        wait_until(lambda: client.get("/readyz").status_code == 200, seconds=120)
        question = "只用一千道数学题训练,强化学习也能学会吗?"
        assert "d7c2" in ids(client.get("/ask", params={"q": question, "top_k": 3}))


def test_start_up_stops_when_the_index_was_built_with_another_model(
    real_settings: Settings,
    real_searcher: Searcher,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(real_settings.index_dir, index_dir)
    # Another query prompt is another fingerprint: the index no longer matches the model.
    settings = real_settings.model_copy(
        update={"index_dir": index_dir, "query_prompt": "question: ", "port": 0}
    )
    monkeypatch.setattr(qa.api, "configure_logging", lambda log_format: None)
    raised: list[BaseException] = []

    def run() -> None:
        try:
            serve(settings)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the server kept running after start-up failed"
    (error,) = raised
    assert isinstance(error, IndexCorruptError)
    assert "qa index" in str(error)
