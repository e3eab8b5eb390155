"""What only the Streamable HTTP transport has: the official MCP Python SDK through `haechi proxy`.

Client (ClientSession over streamable_http_client) -> haechi proxy (target.type "mcp-http")
-> tests/e2e/mcp_server.py served over Streamable HTTP on loopback (mcp_support.serve_over_http).
Every test runs twice: the server answering with SSE streams (the SDK's default) and with single
JSON bodies (json_response=True); each style gets its own server and gateway. The protection
checks that hold on every transport (stdio and both HTTP styles) are in test_mcp_sdk.py.
"""

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import anyio
import httpx2
import pytest

from mcp_support import TIMEOUT, serve_over_http, text_of, why_not_runnable

if reason := why_not_runnable("the mcp-http target has no stand-in"):
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(scope="module", params=["http-sse", "http-json"])
def gateway(request, tmp_path_factory):
    """The SDK server (answering in the parametrized style) behind `haechi proxy`."""
    directory = tmp_path_factory.mktemp(request.param)
    with serve_over_http(directory, request.param.removeprefix("http-")) as gateway:
        yield gateway


@dataclass
class Exchange:
    """One HTTP exchange the client made with the gateway."""

    method: str
    sent_session: str | None
    status: int
    returned_session: str | None
    content_type: str


@dataclass
class Wire:
    """What the client's HTTP client saw, in order."""

    exchanges: list[Exchange] = field(default_factory=list)

    async def on_response(self, response: httpx2.Response) -> None:
        self.exchanges.append(
            Exchange(
                method=response.request.method,
                sent_session=response.request.headers.get("mcp-session-id"),
                status=response.status_code,
                returned_session=response.headers.get("mcp-session-id"),
                content_type=response.headers.get("content-type", ""),
            )
        )

    def client(self) -> httpx2.AsyncClient:
        """An HTTP client for the SDK that records each response here."""
        return httpx2.AsyncClient(timeout=httpx2.Timeout(TIMEOUT), event_hooks={"response": [self.on_response]})


@pytest.mark.anyio
async def test_the_servers_session_id_and_answer_style_cross_the_gateway(gateway):
    wire = Wire()
    with anyio.fail_after(TIMEOUT):
        async with wire.client() as http_client, gateway.session(http_client=http_client) as client:
            # Discovery (what it returns is checked in test_mcp_sdk.py) and two calls: requests
            # that each need the session.
            await client.list_tools()
            await client.list_prompts()
            first = await client.call_tool("echo", {"text": "one"})
            second = await client.call_tool("echo", {"text": "two"})
    assert text_of(first) == "one" and text_of(second) == "two"

    # The server assigned a session id on initialize; it crossed the gateway back to the client.
    assert wire.exchanges, "the client made no HTTP exchange"
    initialize = wire.exchanges[0]
    assert (initialize.method, initialize.status, initialize.sent_session) == ("POST", 200, None)
    assigned = initialize.returned_session
    assert assigned, "the gateway did not relay the server's Mcp-Session-Id\n" + gateway.logs()
    # Every later exchange carried it (the server refuses a request without a valid session id
    # with 400/404, so 2xx answers show it reached the server), and the DELETE ended it.
    later = wire.exchanges[1:]
    assert [exchange.method for exchange in later].count("POST") >= 5
    for exchange in later:
        assert exchange.sent_session == assigned, exchange
        assert exchange.status in (200, 202), exchange
    assert later[-1].method == "DELETE" and later[-1].status == 200, later[-1]
    # The requests were answered in the server's style, relayed as such.
    expected = {"sse": "text/event-stream", "json": "application/json"}[gateway.style]
    answered = [exchange for exchange in wire.exchanges if exchange.method == "POST" and exchange.status == 200]
    assert answered and all(exchange.content_type.startswith(expected) for exchange in answered), answered


def test_a_put_is_refused_with_405(gateway):
    request = urllib.request.Request(gateway.url, data=b"{}", method="PUT")
    request.add_header("content-type", "application/json")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=TIMEOUT)
    assert raised.value.code == 405
    body = json.loads(raised.value.read())
    assert body["error"] == "haechi_mcp_http_method_not_supported"
