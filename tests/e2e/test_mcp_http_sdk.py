"""The official MCP Python SDK (Streamable HTTP client) through `haechi proxy` to an SDK-built server.

Client (ClientSession over streamable_http_client) -> haechi proxy (target.type "mcp-http")
-> tests/e2e/mcp_server.py served over Streamable HTTP on loopback. Every test runs twice: the
server answering with SSE streams (the SDK's default) and with single JSON bodies
(json_response=True); each style gets its own server and gateway. The config is the one
test_mcp_sdk.py uses (enforce, llm-redact + secrets-only, only initialize and tools/call
allowed; discovery methods always pass), audited to a temp dir.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import ClientSession, MCPError, types
from mcp.client.streamable_http import streamable_http_client

HAECHI = os.environ.get("HAECHI_E2E_HAECHI_BIN", "").strip()
if not HAECHI:
    pytest.skip("HAECHI_E2E_HAECHI_BIN is not set: run scripts/e2e.sh", allow_module_level=True)
if os.environ.get("HAECHI_E2E_STANDIN") == "1":
    pytest.skip("the mcp-http target has no stand-in", allow_module_level=True)

SERVER = Path(__file__).with_name("mcp_server.py")

# The same values mcp_server.py uses.
EMAIL = "jane.doe@example.com"
PHONE = "010-1234-5678"
API_KEY = "api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc"

# Bounds every test: a hang in the gateway fails the test instead of blocking the run.
TIMEOUT = 30
# Bounds starting and stopping the server and the gateway.
STARTUP = 30
SHUTDOWN = 20

# The SDK server's endpoint (MCPServer.run's default streamable_http_path).
MCP_PATH = "/mcp"
LISTENING = re.compile(r"^Haechi proxy listening on (http://127\.0\.0\.1:(\d+))$", re.MULTILINE)


@pytest.fixture
def anyio_backend():
    return "asyncio"


@dataclass
class Gateway:
    """One SDK server over Streamable HTTP with `haechi proxy` in front of it."""

    style: str  # "sse" or "json": how the server answers a request POST
    config: Path
    url: str  # the MCP endpoint through the gateway
    stdout: Path
    stderr: Path

    def logs(self) -> str:
        """The gateway's output, for failure messages."""
        return f"gateway stdout:\n{self.stdout.read_text()}\ngateway stderr:\n{self.stderr.read_text()}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} is not accepting connections on 127.0.0.1:{port}")


def wait_for_listening(process: subprocess.Popen, stdout: Path) -> str:
    """The gateway's base URL, from its `Haechi proxy listening on ...` line."""
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        found = LISTENING.search(stdout.read_text())
        if found:
            return found.group(1)
        if process.poll() is not None:
            raise RuntimeError(f"haechi proxy exited with {process.returncode}: {stdout.read_text()}")
        time.sleep(0.1)
    raise RuntimeError(f"haechi proxy did not say where it listens: {stdout.read_text()}")


def stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=SHUTDOWN)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def write_config(directory: Path, upstream: str) -> Path:
    """A config made by `haechi init`, then switched to enforce, mcp-http and a narrow allowlist."""
    path = directory / "haechi.config.json"
    subprocess.run(
        [HAECHI, "init", "--config", str(path)], cwd=directory, check=True, capture_output=True, timeout=60
    )
    data = json.loads(path.read_text())
    data["mode"] = "enforce"
    data["policy"]["mode"] = "enforce"
    data["policy"]["presets"] = ["llm-redact", "secrets-only"]
    # init writes the key file relative to its working directory: point at it absolutely.
    data["keys"]["keyFile"] = str(directory / ".haechi" / "dev.keys.json")
    data["audit"]["path"] = str(directory / "audit.jsonl")
    data["tokenVault"]["path"] = str(directory / "token-vault.json")
    data["target"]["type"] = "mcp-http"
    data["target"]["upstream"] = upstream
    data["mcp"]["allowedMethods"] = ["initialize", "tools/call"]
    data["proxy"]["port"] = 0
    path.write_text(json.dumps(data, indent=2))
    return path


@pytest.fixture(scope="module", params=["sse", "json"])
def gateway(request, tmp_path_factory):
    """The SDK server (answering in the parametrized style) behind `haechi proxy`."""
    style = request.param
    directory = tmp_path_factory.mktemp(f"mcp-http-{style}")
    port = free_port()
    server_args = [sys.executable, str(SERVER), "http", str(port)] + (["json"] if style == "json" else [])
    server_log = open(directory / "server.log", "wb")
    server = subprocess.Popen(server_args, stdout=server_log, stderr=subprocess.STDOUT)
    proxy = None
    try:
        wait_for_port(port, server, "the MCP server")
        config = write_config(directory, f"http://127.0.0.1:{port}")
        stdout, stderr = directory / "proxy.out", directory / "proxy.err"
        with open(stdout, "wb") as out, open(stderr, "wb") as err:
            proxy = subprocess.Popen(
                [HAECHI, "proxy", "--config", str(config), "--port", "0", "--host", "127.0.0.1"],
                cwd=directory,
                stdout=out,
                stderr=err,
            )
        base = wait_for_listening(proxy, stdout)
        yield Gateway(style=style, config=config, url=base + MCP_PATH, stdout=stdout, stderr=stderr)
        code = stop(proxy)
        proxy = None
        assert code == 0, f"haechi proxy exited {code} on SIGTERM\n" + (
            f"{stdout.read_text()}\n{stderr.read_text()}"
        )
    finally:
        if proxy is not None:
            stop(proxy)
        stop(server)
        server_log.close()


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


@asynccontextmanager
async def session(gateway: Gateway, wire: Wire | None = None, **client_options):
    """An initialized ClientSession whose server is reached through the gateway; `wire` records
    the HTTP exchanges (else the SDK makes its own HTTP client)."""
    async with AsyncExitStack() as stack:
        http_client = None
        if wire is not None:
            hooks = {"response": [wire.on_response]}
            http_client = await stack.enter_async_context(
                httpx2.AsyncClient(timeout=httpx2.Timeout(TIMEOUT), event_hooks=hooks)
            )
        read, write = await stack.enter_async_context(streamable_http_client(gateway.url, http_client=http_client))
        client = await stack.enter_async_context(ClientSession(read, write, **client_options))
        await client.initialize()
        yield client


async def answer_sampling(context, params) -> types.CreateMessageResult:
    """A client-side model: declares the sampling capability and answers "ok"."""
    return types.CreateMessageResult(
        role="assistant", content=types.TextContent(type="text", text="ok"), model="stub"
    )


def text_of(result: types.CallToolResult) -> str:
    """The text content blocks of a tool result, joined."""
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


def audit_log(config: Path) -> str:
    return Path(json.loads(config.read_text())["audit"]["path"]).read_text()


@pytest.mark.anyio
async def test_initialize_and_discovery_keep_the_servers_session(gateway):
    wire = Wire()
    with anyio.fail_after(TIMEOUT):
        async with session(gateway, wire) as client:
            assert client.server_info is not None and client.server_info.name == "haechi-e2e"
            tools = await client.list_tools()
            assert {tool.name for tool in tools.tools} == {"echo", "lookup_customer", "ask_model"}
            # prompts/list is discovery (always allowed) even though prompts/get is not.
            prompts = await client.list_prompts()
            assert [prompt.name for prompt in prompts.prompts] == ["greeting"]
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


@pytest.mark.anyio
async def test_tool_arguments_are_redacted_before_the_server(gateway):
    with anyio.fail_after(TIMEOUT):
        async with session(gateway) as client:
            result = await client.call_tool("echo", {"text": f"mail me at {EMAIL}"})
    # echo returns what it received: the server only ever saw the redacted value.
    assert not result.is_error
    assert text_of(result) == "mail me at [REDACTED:email]"
    assert EMAIL not in result.model_dump_json()


@pytest.mark.anyio
async def test_tool_results_are_protected_before_the_client(gateway):
    with anyio.fail_after(TIMEOUT):
        async with session(gateway) as client:
            result = await client.call_tool("lookup_customer", {})
    assert not result.is_error
    # The email is redacted (llm-redact), the phone masked: same length, only its ends kept.
    protected = "Customer Jane Doe, email [REDACTED:email], phone 01*********78"
    assert text_of(result) == protected
    # The SDK's structured copy of a str result is protected as well.
    assert result.structured_content == {"result": protected}
    whole = result.model_dump_json()
    assert EMAIL not in whole and PHONE not in whole


@pytest.mark.anyio
async def test_a_method_outside_the_allowlist_is_refused(gateway):
    with anyio.fail_after(TIMEOUT):
        async with session(gateway) as client:
            with pytest.raises(MCPError) as raised:
                await client.get_prompt("greeting")
            # The session stays usable after the refusal.
            still = await client.call_tool("echo", {"text": "still here"})
    assert raised.value.code == -32003
    assert raised.value.message == "haechi_mcp_method_not_allowed"
    assert raised.value.data == {"method": "prompts/get"}
    assert text_of(still) == "still here"


@pytest.mark.anyio
async def test_a_secret_in_tool_arguments_is_blocked(gateway):
    with anyio.fail_after(TIMEOUT):
        async with session(gateway) as client:
            with pytest.raises(MCPError) as raised:
                await client.call_tool("echo", {"text": API_KEY})
            # The session stays usable after the block.
            still = await client.call_tool("echo", {"text": "still here"})
    # A JSON-RPC error for the call itself (not a tool result with isError).
    assert raised.value.code == -32001
    assert raised.value.message == "haechi_policy_block"
    data = raised.value.data
    assert isinstance(data, dict) and data.get("auditId")
    assert data["summary"] == {"detectionCount": 1, "byType": {"api_key": 1}, "byAction": {"block": 1}}
    assert "sk_live" not in json.dumps(data)
    assert text_of(still) == "still here"


@pytest.mark.anyio
async def test_a_blocked_sampling_request_never_reaches_the_client(gateway):
    if gateway.style == "json":
        pytest.skip(
            "with json_response=True the SDK server has no back-channel (its transport stamps "
            "can_send_request=False): ctx.session.create_message raises NoBackChannelError before "
            "any sampling/createMessage is sent, so there is no server request for haechi to filter"
        )
    sampled = []

    async def sampling_callback(context, params):
        sampled.append(params)
        return await answer_sampling(context, params)

    with anyio.fail_after(TIMEOUT):
        async with session(gateway, sampling_callback=sampling_callback) as client:
            result = await client.call_tool("ask_model", {})
    # haechi answered the server's sampling/createMessage with the block (a POST of its own),
    # so the tool finished.
    assert sampled == []
    assert not result.is_error
    assert text_of(result) == "sampling failed: haechi_policy_block", gateway.logs()


@pytest.mark.anyio
async def test_the_audit_chain_is_valid_and_holds_no_test_value(gateway):
    # Its own traffic, so this test does not depend on the others having run.
    with anyio.fail_after(TIMEOUT):
        async with session(gateway, sampling_callback=answer_sampling) as client:
            await client.call_tool("echo", {"text": f"mail me at {EMAIL}"})
            await client.call_tool("lookup_customer", {})
            await client.call_tool("ask_model", {})
            with pytest.raises(MCPError):
                await client.get_prompt("greeting")
            with pytest.raises(MCPError):
                await client.call_tool("echo", {"text": API_KEY})

    verify = subprocess.run(
        [HAECHI, "audit-verify", "--config", str(gateway.config)], capture_output=True, text=True, timeout=60
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["result"]["valid"] is True

    log = audit_log(gateway.config)
    for value in (EMAIL, PHONE, API_KEY, "sk_live_4eC39HqLyjWDarjtT1zdp7dc"):
        assert value not in log
    records = [json.loads(line) for line in log.splitlines() if line.strip()]
    protects = [record for record in records if "detections" in record]
    assert protects and all(record["protocol"] == "mcp-http" for record in protects)

    def types_of(operation: str) -> set[str]:
        return {d["type"] for r in protects if r["operation"] == operation for d in r["detections"]}

    # The email in the tool arguments, the email and phone in lookup_customer's result.
    assert "email" in types_of("tools/call")
    assert {"email", "phone"} <= types_of("result")
    # The blocked call (and, when the server can send one, the blocked sampling request).
    blocked = {(r["operation"], d["type"]) for r in protects if r["blocked"] for d in r["detections"]}
    expected = {("tools/call", "api_key")}
    if gateway.style == "sse":
        expected.add(("sampling/createMessage", "api_key"))
    assert blocked == expected
    refusals = [record for record in records if record.get("decision") == "mcp_method_not_allowed"]
    assert refusals and all(
        record.get("method") == "prompts/get" and record.get("protocol") == "mcp-http" for record in refusals
    )


def test_other_http_methods_are_refused(gateway):
    request = urllib.request.Request(gateway.url, data=b"{}", method="PUT")
    request.add_header("content-type", "application/json")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=TIMEOUT)
    assert raised.value.code == 405
    body = json.loads(raised.value.read())
    assert body["error"] == "haechi_mcp_http_method_not_supported"
