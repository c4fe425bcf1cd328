"""The shapes of requests and responses (they are also the OpenAPI schema at /docs), with the
examples /docs shows."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_JSON = "application/problem+json"
MAX_QUERIES = 20

CONTEXT_FIELD = (
    "Also return `context`: the answer as a block of text to paste into a chatbot's prompt, "
    "one line per claim with its citation numbers, and how to cite them."
)
UNKNOWN_NAMES = (
    "Names in the question (DeepSeek, Mamba) that the transcript never uses: it can say "
    "nothing about them, which is why such a question is seldom answered."
)
CONTEXT_OUT = (
    "With `context: true` only: one line per claim, such as `[33] RL数据效率高得多… "
    "(对话七 · 强化学习:…)`, then an instruction to cite with those numbers; or a statement "
    "that the transcript does not answer the question."
)


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
    context: bool = Field(default=False, description=CONTEXT_FIELD)


# The two numbers every answer carries, described once for /ask, /query and the MCP tool.
Score = Annotated[float, Field(description="The ranking score (higher is better).")]
Confidence = Annotated[
    float, Field(description="How likely the claim answers the question, 0 to 1.")
]


class SectionOut(BaseModel):
    number: int = Field(description="The dialogue's number (7 for 对话七).")
    title: str


class ClaimOut(BaseModel):
    id: str = Field(description="The claim's id, such as d7c2.")
    text: str
    citations: list[int] = Field(description="Cite the claim with these, e.g. [33].")
    section: SectionOut


class AnswerOut(BaseModel):
    rank: int
    id: str
    text: str
    citations: list[int]
    section: SectionOut
    score: Score
    confidence: Confidence


class AskResponse(BaseModel):
    question: str
    answered: bool = Field(
        description="False when no claim clears the confidence cut-off: the transcript "
        "probably does not answer the question (and `answers` is empty)."
    )
    answers: list[AnswerOut]
    unknown_names: list[str] = Field(description=UNKNOWN_NAMES)
    model: str
    took_ms: float
    context: str | None = Field(default=None, description=CONTEXT_OUT)


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


PROBLEMS: dict[int | str, dict[str, Any]] = {
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


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: PROBLEMS[s] for s in statuses}


ASK_EXAMPLES: dict[str, Any] = {
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
Q_EXAMPLES: dict[str, Any] = {
    name: {"summary": example["summary"], "value": example["value"]["question"]}
    for name, example in ASK_EXAMPLES.items()
    if name != "section"
}
# A real answer: multilingual-e5-small, `POST /ask` with the Chinese example above, top_k 3.
ASK_RESPONSE_EXAMPLE: dict[str, Any] = {
    "question": "只用一千道数学题训练,强化学习也能学会吗?",
    "answered": True,
    "answers": [
        {
            "rank": 1,
            "id": "d7c2",
            "text": "RL数据效率高得多,可从有限数据中学习,如1000道数学题",
            "citations": [33],
            "section": {"number": 7, "title": "强化学习:是超级优化器,还是科学发现的引擎"},
            "score": 0.8875,
            "confidence": 0.9102,
        },
        {
            "rank": 2,
            "id": "d7c3",
            "text": "RL只得到一个奖励,没有约束,能很好优化就可以学习",
            "citations": [33],
            "section": {"number": 7, "title": "强化学习:是超级优化器,还是科学发现的引擎"},
            "score": 0.8713,
            "confidence": 0.4501,
        },
        {
            "rank": 3,
            "id": "d4c3",
            "text": "强化学习可泛化到更大系统,但需要训练期间接触所有工具,目前难以实现",
            "citations": [22],
            "section": {"number": 4, "title": "Agent的泛化困境:是方法问题,还是根本限制"},
            "score": 0.8646,
            "confidence": 0.2243,
        },
    ],
    "unknown_names": [],
    "model": "intfloat/multilingual-e5-small",
    "took_ms": 21.4,
}


# POST /query: the ChatGPT retrieval plugin's API (openai/chatgpt-retrieval-plugin,
# models/models.py), so that its clients (LangChain's ChatGPTPluginRetriever, LlamaIndex's
# ChatGPTRetrievalPluginReader) work unchanged; our own fields are optional additions.


class QueryFilter(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    section: int | None = Field(
        default=None, description="Only this dialogue (its number, e.g. 7 for 对话七)."
    )
    document_id: str | None = Field(
        default=None,
        description="Only this document: the transcript's `document_id` (as in the results' "
        "metadata); another id matches nothing.",
    )


class QueryIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    query: str = Field(description="The question, in Chinese, English or both.")
    filter: QueryFilter | None = Field(default=None, description="Restrict the search.")
    top_k: int | None = Field(
        default=3, description="How many claims at most, 1 to QA_MAX_TOP_K (default 3)."
    )
    min_confidence: float | None = Field(
        default=None,
        description="Leave out claims below this confidence, 0 to 1 (default "
        "QA_MIN_CONFIDENCE); 0 returns the full ranking.",
    )


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    queries: list[QueryIn] = Field(
        min_length=1,
        max_length=MAX_QUERIES,
        description=f"1 to {MAX_QUERIES} questions, answered together.",
    )
    context: bool = Field(default=False, description=CONTEXT_FIELD)


class ChunkMetadata(BaseModel):
    source: Literal["email", "file", "chat"] | None = Field(
        description="Always `chat`: the claims summarise a conversation."
    )
    source_id: str | None = Field(description="The claim's id, such as `d7c2`.")
    url: str | None = Field(description="Always null: the transcript has no URL.")
    created_at: str | None = Field(description="When the transcript was published.")
    author: str | None = Field(description="Who published the transcript.")
    document_id: str | None = Field(description="The transcript's id (its SHA-256).")
    citations: list[int] = Field(
        description="The claim's citation numbers: cite the claim as [33] (or [6][7])."
    )
    section: int = Field(description="The dialogue's number (7 for 对话七).")
    section_title: str = Field(description="The dialogue's title.")
    source_title: str = Field(description="The transcript's title.")
    publisher: str
    published: str
    confidence: Confidence


class ChunkOut(BaseModel):
    id: str = Field(description="The claim's id, such as `d7c2`.")
    text: str = Field(description="The claim, in the transcript's words.")
    metadata: ChunkMetadata
    embedding: list[float] | None = Field(
        description="Always null (the plugin's field; LlamaIndex's reader expects it)."
    )
    score: Score


class QueryResultOut(BaseModel):
    query: str
    results: list[ChunkOut] = Field(
        description="The claims that answer the query, best first; empty when none is "
        "relevant enough (the transcript does not answer it)."
    )
    answered: bool = Field(description="False when `results` is empty.")
    unknown_names: list[str] = Field(description=UNKNOWN_NAMES)
    context: str | None = Field(default=None, description=CONTEXT_OUT)


class QueryResponse(BaseModel):
    results: list[QueryResultOut] = Field(description="One result per query, in order.")


QUERY_EXAMPLES: dict[str, Any] = {
    "one": {
        "summary": "One question (as LangChain's ChatGPTPluginRetriever sends it)",
        "value": {
            "queries": [
                {"query": "只用一千道数学题训练,强化学习也能学会吗?", "filter": None, "top_k": 3}
            ]
        },
    },
    "several": {
        "summary": "Two questions, one within dialogue 1, with the prompt-ready context",
        "value": {
            "queries": [
                {"query": "强化学习需要多少数据?", "top_k": 2},
                {"query": "Why is language cheaper than video?", "filter": {"section": 1}},
            ],
            "context": True,
        },
    },
}
