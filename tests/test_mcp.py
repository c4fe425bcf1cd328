"""The MCP server through the SDK's own client, over both transports: `qa mcp` on stdio (a
real subprocess) and /mcp on a real server (streamable HTTP, behind the token)."""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from live import running
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._stream_protocols import ReadStream, WriteStream
from mcp.shared.message import SessionMessage

from qa.api import create_app
from qa.search import Searcher
from qa.settings import Settings

TOKEN = "mcp-token"
RL_QUESTION = "只用一千道数学题训练,强化学习也能学会吗?"
Streams = tuple[ReadStream[SessionMessage | Exception], WriteStream[SessionMessage]]


def session_run(
    transport: Callable[[AsyncExitStack], AbstractAsyncContextManager[Streams]],
    check: Callable[[ClientSession], Awaitable[None]],
) -> None:
    async def main() -> None:
        with anyio.fail_after(120):
            async with AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(transport(stack))
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                await check(session)

    anyio.run(main)


async def check_the_tool(session: ClientSession) -> None:
    (tool,) = (await session.list_tools()).tools
    assert tool.name == "search_transcript"
    assert tool.output_schema is not None
    assert {"question", "answered", "claims", "unknown_names"} <= set(
        tool.output_schema["properties"]
    )
    assert "[6][7]" in (tool.description or "")

    found = await session.call_tool("search_transcript", {"question": RL_QUESTION, "top_k": 3})
    assert not found.is_error
    structured: dict[str, Any] = found.structured_content
    assert structured["answered"] is True
    first = structured["claims"][0]
    assert (first["id"], first["citations"], first["section"]["number"]) == ("d7c2", [33], 7)
    assert 0 < first["confidence"] <= 1
    text = found.content[0].text  # type: ignore[union-attr]
    assert "[33] RL数据效率高得多,可从有限数据中学习,如1000道数学题 (对话七 · " in text

    unknown = await session.call_tool("search_transcript", {"question": "Kaiser怎么看DeepSeek?"})
    assert unknown.structured_content is not None
    assert unknown.structured_content["unknown_names"] == ["DeepSeek"]
    assert "never mentions DeepSeek" in unknown.content[0].text  # type: ignore[union-attr]

    empty = await session.call_tool("search_transcript", {"question": "  "})
    assert empty.is_error
    assert "the question is empty" in empty.content[0].text  # type: ignore[union-attr]


def test_stdio_server_answers_with_structured_claims(
    real_settings: Settings, real_searcher: Searcher
) -> None:
    env = {**os.environ, "QA_INDEX_DIR": str(real_settings.index_dir)}
    params = StdioServerParameters(command=sys.executable, args=["-m", "qa.cli", "mcp"], env=env)
    session_run(lambda stack: stdio_client(params), check_the_tool)


@pytest.fixture(scope="module")
def server(real_settings: Settings, real_searcher: Searcher) -> Iterator[httpx.Client]:
    settings = real_settings.model_copy(update={"api_token": TOKEN})
    with running(create_app(settings, real_searcher)) as client:
        yield client


def test_streamable_http_endpoint_answers_with_structured_claims(server: httpx.Client) -> None:
    url = f"{str(server.base_url).rstrip('/')}/mcp"

    def transport(stack: AsyncExitStack) -> AbstractAsyncContextManager[Streams]:
        client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
        stack.push_async_callback(client.aclose)
        return streamable_http_client(url, http_client=client)

    session_run(transport, check_the_tool)


def test_streamable_http_endpoint_needs_the_token(server: httpx.Client) -> None:
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    response = server.post("/mcp", json=initialize)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
