"""`POST /query`, the ChatGPT retrieval plugin's API: the real model on a real server with a
token, spoken to with httpx and with LangChain's own `ChatGPTPluginRetriever`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from live import running

from qa.api import create_app
from qa.schemas import MAX_QUERIES
from qa.search import Searcher
from qa.settings import Settings

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PROBLEM = "application/problem+json"
RL_QUESTION = "只用一千道数学题训练,强化学习也能学会吗?"
FILTER_KEYS = "'queries.0.filter.author' is not a field: use only section, document_id"


@pytest.fixture(scope="module")
def server(real_settings: Settings, real_searcher: Searcher) -> Iterator[httpx.Client]:
    settings = real_settings.model_copy(update={"api_token": TOKEN})
    with running(create_app(settings, real_searcher)) as client:
        yield client


def query(client: httpx.Client, body: dict[str, Any]) -> httpx.Response:
    return client.post("/query", json=body, headers=AUTH)


def test_query_answers_in_the_plugin_shape_with_our_metadata(
    server: httpx.Client, real_searcher: Searcher
) -> None:
    response = query(server, {"queries": [{"query": RL_QUESTION, "filter": None, "top_k": 3}]})
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["query"] == RL_QUESTION
    assert result["answered"] is True
    assert "context" not in result
    first = result["results"][0]
    assert first["id"] == "d7c2"
    assert isinstance(first["score"], float)
    source = real_searcher.transcript.source
    assert first["metadata"] == {
        "source": "chat",
        "source_id": "d7c2",
        "url": None,
        "created_at": source.published,
        "author": source.publisher,
        "document_id": real_searcher.transcript.sha256,
        "citations": [33],
        "section": 7,
        "section_title": "强化学习:是超级优化器,还是科学发现的引擎",
        "source_title": source.title,
        "publisher": source.publisher,
        "published": source.published,
        "confidence": first["metadata"]["confidence"],
    }
    assert 0.5 < first["metadata"]["confidence"] <= 1


def test_several_queries_are_answered_in_order_with_one_encoding(
    server: httpx.Client, real_searcher: Searcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[int] = []
    encode = real_searcher.encoder.encode_tokens

    def counted(texts: Any, **kwargs: Any) -> Any:
        batches.append(len(texts))
        return encode(texts, **kwargs)

    monkeypatch.setattr(real_searcher.encoder, "encode_tokens", counted)
    body = {
        "queries": [
            {"query": RL_QUESTION, "top_k": 2},
            {"query": "Why is training on language cheaper than on video?", "top_k": 3},
            {"query": "memory", "filter": {"section": 9}, "min_confidence": 0},
        ]
    }
    response = query(server, body)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["query"] for r in results] == [q["query"] for q in body["queries"]]
    assert results[0]["results"][0]["id"] == "d7c2"
    assert len(results[0]["results"]) <= 2
    assert "d1c3" in [c["id"] for c in results[1]["results"]]
    assert {c["metadata"]["section"] for c in results[2]["results"]} == {9}
    assert batches == [3]


def test_query_the_transcript_cannot_answer_has_no_results(server: httpx.Client) -> None:
    body = {"queries": [{"query": "What is a good recipe for banana bread?"}], "context": True}
    (result,) = query(server, body).json()["results"]
    assert result["results"] == []
    assert result["answered"] is False
    assert "does not answer" in result["context"]


def test_query_returns_prompt_ready_context_when_asked(server: httpx.Client) -> None:
    body = {"queries": [{"query": RL_QUESTION, "top_k": 1}], "context": True}
    (result,) = query(server, body).json()["results"]
    lines = result["context"].splitlines()
    assert "[33] RL数据效率高得多,可从有限数据中学习,如1000道数学题 (对话七 · " in lines[1]
    assert "e.g. [33]" in lines[-1]


def test_other_document_id_matches_nothing(server: httpx.Client) -> None:
    body = {"queries": [{"query": RL_QUESTION, "filter": {"document_id": "another"}}]}
    (result,) = query(server, body).json()["results"]
    assert result["results"] == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"queries": [{"query": "RL", "filter": {"author": "x"}}]}, FILTER_KEYS),
        ({"queries": [{"query": "RL", "filter": {"section": 99}}]}, "there is no section 99"),
        ({"queries": [{"query": "  "}]}, "the question is empty"),
        ({"queries": [{"query": "RL", "top_k": 0}]}, "top_k must be between 1 and"),
        ({"queries": []}, "'queries'"),
        ({"queries": [{"query": "RL"}] * (MAX_QUERIES + 1)}, f"at most {MAX_QUERIES}"),
        ({"queries": [{"query": "RL", "lang": "zh"}]}, "use only query, filter, top_k"),
    ],
)
def test_bad_query_is_a_422_problem(server: httpx.Client, body: Any, detail: str) -> None:
    response = query(server, body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert detail in response.json()["detail"]


def test_query_needs_the_token(server: httpx.Client) -> None:
    response = server.post("/query", json={"queries": [{"query": RL_QUESTION}]})
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM


def test_langchain_retriever_gets_the_claims(server: httpx.Client) -> None:
    from langchain_community.retrievers import ChatGPTPluginRetriever

    retriever = ChatGPTPluginRetriever(url=str(server.base_url).rstrip("/"), bearer_token=TOKEN)
    docs = retriever.invoke(RL_QUESTION)
    assert docs[0].page_content == "RL数据效率高得多,可从有限数据中学习,如1000道数学题"
    # LangChain moves `source_id` into `source`.
    assert docs[0].metadata["source"] == "d7c2"
    assert docs[0].metadata["citations"] == [33]
    assert docs[0].metadata["section"] == 7
    assert len(docs) <= 3


def test_langchain_retriever_filters_by_section(server: httpx.Client) -> None:
    from langchain_community.retrievers import ChatGPTPluginRetriever

    retriever = ChatGPTPluginRetriever(
        url=str(server.base_url).rstrip("/"), bearer_token=TOKEN, filter={"section": 4}, top_k=2
    )
    docs = retriever.invoke(RL_QUESTION)
    assert docs
    assert {d.metadata["section"] for d in docs} == {4}


def test_llamaindex_reader_request_is_answered(server: httpx.Client) -> None:
    # What LlamaIndex's ChatGPTRetrievalPluginReader.load_data sends and reads (not installed).
    response = query(server, {"queries": [{"query": RL_QUESTION, "top_k": 10}]})
    documents = [
        (result["id"], result["text"], result["embedding"])
        for query_result in response.json()["results"]
        for result in query_result["results"]
    ]
    assert documents[0] == ("d7c2", "RL数据效率高得多,可从有限数据中学习,如1000道数学题", None)


def test_langchain_retriever_without_the_token_fails(server: httpx.Client) -> None:
    from langchain_community.retrievers import ChatGPTPluginRetriever

    retriever = ChatGPTPluginRetriever(url=str(server.base_url).rstrip("/"), bearer_token="")
    with pytest.raises(KeyError, match="results"):
        retriever.invoke(RL_QUESTION)
