"""The search as a Model Context Protocol tool, for chatbots (Claude Desktop and the like).

`build_server` makes the server; it is served over stdio by `qa mcp` (`serve_stdio`) and over
streamable HTTP at /mcp by the HTTP service, which shares its loaded searcher with it. The tool
returns structured content (its JSON schema is the tool's output schema) and, for clients that
read only text, the prompt-ready context of `qa.context`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated

import anyio
import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from qa import __version__
from qa.context import render_context
from qa.errors import QAError
from qa.schemas import UNKNOWN_NAMES, ClaimOut, Confidence, Score
from qa.search import Searcher, open_searcher
from qa.settings import Settings

INSTRUCTIONS = (
    "Answers questions about one transcript (a conversation summarised as numbered dialogues "
    "of short claims with citation numbers). Call search_transcript with the user's question; "
    "answer only from the claims it returns and cite them with their citation numbers, e.g. "
    "[6][7]. When `answered` is false, say the transcript does not answer the question."
)
TOOL_DESCRIPTION = (
    "Search the transcript for the claims that answer a question (Chinese, English or both). "
    "Returns the claims best first, each with its citation numbers, its dialogue (number and "
    "title), a ranking score and a confidence from 0 to 1; `answered` is false when no claim is "
    "relevant enough, i.e. the transcript does not answer the question. Cite claims with their "
    "citation numbers, e.g. [6][7]."
)


class ClaimFound(ClaimOut):
    score: Score
    confidence: Confidence


class SearchOutput(BaseModel):
    question: str
    answered: bool = Field(
        description="False when no claim is relevant enough: the transcript does not answer it."
    )
    claims: list[ClaimFound] = Field(description="Best first; empty when not answered.")
    unknown_names: list[str] = Field(description=UNKNOWN_NAMES)


def build_server(
    searcher: Callable[[], Searcher], limiter: anyio.CapacityLimiter | None = None
) -> MCPServer:
    """The MCP server. `searcher` returns the loaded searcher or raises a `QAError` saying why
    there is none yet; searches run in a worker thread, one at a time under `limiter`."""
    server: MCPServer = MCPServer(
        name="qa", title="Transcript QA", version=__version__, instructions=INSTRUCTIONS
    )
    one_at_a_time = limiter or anyio.CapacityLimiter(1)

    @server.tool(description=TOOL_DESCRIPTION)
    async def search_transcript(
        question: Annotated[str, Field(description="The question to answer.")],
        top_k: Annotated[int, Field(description="How many claims at most.")] = 5,
    ) -> Annotated[CallToolResult, SearchOutput]:
        try:
            loaded = searcher()
            result = await anyio.to_thread.run_sync(
                partial(loaded.search, question, top_k), limiter=one_at_a_time
            )
        except QAError as exc:
            raise ToolError(str(exc)) from exc
        output = SearchOutput(
            question=result.question,
            answered=result.answered,
            claims=[ClaimFound.model_validate(a.to_dict()) for a in result.answers],
            unknown_names=list(result.unknown_names),
        )
        text = render_context(result, loaded.transcript.source)
        return CallToolResult(
            content=[TextContent(text=text)], structured_content=output.model_dump(mode="json")
        )

    return server


def serve_stdio(settings: Settings) -> None:
    """Load the model and index, then answer MCP requests on stdin/stdout until it closes."""
    loaded = open_searcher(settings, build=True)
    build_server(lambda: loaded).run("stdio")
