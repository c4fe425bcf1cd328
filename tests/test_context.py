"""The prompt-ready context block: rendered from a result, and returned by /ask when asked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from qa.api import create_app
from qa.context import render_context
from qa.search import Answer, Result, Searcher
from qa.settings import Settings
from qa.transcript import Claim, Section, Source

SOURCE = Source(title="语言与智能", publisher="某播客", published="2025-10-10")
SECTION = Section(1, "语言对于智能到底意味着什么")


def answer(rank: int, text: str, citations: tuple[int, ...]) -> Answer:
    claim = Claim(f"d1c{rank}", 1, rank, text, citations)
    return Answer(rank, claim, SECTION, score=0.9, confidence=0.8)


def test_context_has_one_line_per_claim_with_its_citations_and_dialogue() -> None:
    result = Result(
        "语言为什么重要?",
        (answer(1, "语言在时间维度上压缩了信息", (6, 7)), answer(2, "视频的信息密度低", (8,))),
        answered=True,
    )
    lines = render_context(result, SOURCE).splitlines()
    assert "语言与智能" in lines[0] and "语言为什么重要?" in lines[0]
    assert lines[1] == "[6][7] 语言在时间维度上压缩了信息 (对话一 · 语言对于智能到底意味着什么)"
    assert lines[2] == "[8] 视频的信息密度低 (对话一 · 语言对于智能到底意味着什么)"
    assert lines[3].startswith("Answer from these claims only")
    assert lines[3].endswith("e.g. [6][7].")
    assert len(lines) == 4


def test_context_of_a_claim_without_citations_has_no_empty_brackets() -> None:
    result = Result("语言?", (answer(1, "语言很重要", ()),), answered=True)
    lines = render_context(result, SOURCE).splitlines()
    assert lines[1] == "语言很重要 (对话一 · 语言对于智能到底意味着什么)"


def test_context_says_when_the_transcript_does_not_answer() -> None:
    text = render_context(Result("香蕉面包怎么做?", (), answered=False), SOURCE)
    assert "does not answer" in text
    assert "香蕉面包怎么做?" in text
    assert "\n" not in text


@pytest.fixture(scope="module")
def client(real_settings: Settings, real_searcher: Searcher) -> Iterator[TestClient]:
    with TestClient(create_app(real_settings, real_searcher)) as client:
        yield client


def test_context_names_what_the_transcript_never_mentions() -> None:
    result = Result("DeepSeek 好用吗?", (), answered=False, unknown_names=("DeepSeek",))
    text = render_context(result, SOURCE)
    assert "does not answer the question “DeepSeek 好用吗?”: it never mentions DeepSeek." in text


def test_ask_returns_context_only_when_asked(client: TestClient) -> None:
    question = "只用一千道数学题训练,强化学习也能学会吗?"
    plain = client.post("/ask", json={"question": question, "top_k": 2})
    assert "context" not in plain.json()
    asked = client.post("/ask", json={"question": question, "top_k": 2, "context": True})
    context = asked.json()["context"]
    assert "[33] RL数据效率高得多,可从有限数据中学习,如1000道数学题 (对话七 · " in context
    by_get = client.get("/ask", params={"q": question, "top_k": 2, "context": "true"})
    assert by_get.json()["context"] == context
