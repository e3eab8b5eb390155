"""The official MCP Python SDK (stdio client) through `haechi mcp-wrap` to an SDK-built server.

Client (ClientSession over stdio_client) -> haechi mcp-wrap -> tests/e2e/mcp_server.py.
The config allows only initialize and tools/call (discovery methods such as tools/list always
pass), runs the llm-redact + secrets-only presets in enforce mode, and audits to a temp dir.
"""

import json
import os
import subprocess
import sys
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client, types

HAECHI = os.environ.get("HAECHI_E2E_HAECHI_BIN", "").strip()
if not HAECHI:
    pytest.skip("HAECHI_E2E_HAECHI_BIN is not set: run scripts/e2e.sh", allow_module_level=True)
if os.environ.get("HAECHI_E2E_STANDIN") == "1":
    pytest.skip("mcp-wrap has no stand-in", allow_module_level=True)

SERVER = Path(__file__).with_name("mcp_server.py")

# The same values mcp_server.py uses.
EMAIL = "jane.doe@example.com"
PHONE = "010-1234-5678"
API_KEY = "api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc"
STDERR_EMAIL = "admin@example.org"

# Bounds every test: a hang in the wrapper fails the test instead of blocking the run.
TIMEOUT = 30


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    """A config made by `haechi init`, then switched to enforce with a narrow MCP allowlist."""
    directory = tmp_path_factory.mktemp("mcp-wrap")
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
    data["mcp"]["allowedMethods"] = ["initialize", "tools/call"]
    path.write_text(json.dumps(data, indent=2))
    return path


def audit_log(config: Path) -> str:
    return Path(json.loads(config.read_text())["audit"]["path"]).read_text()


@asynccontextmanager
async def session(config: Path, errlog=None, **client_options):
    """An initialized ClientSession whose server is mcp_server.py behind haechi mcp-wrap."""
    params = StdioServerParameters(
        command=HAECHI,
        args=["mcp-wrap", "--config", str(config), "--", sys.executable, str(SERVER)],
    )
    # The wrapper's stderr (the server's, filtered) goes to errlog, else to the test's stderr.
    async with stdio_client(params, errlog=errlog or sys.stderr) as (read, write):
        async with ClientSession(read, write, **client_options) as client:
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


@pytest.mark.anyio
async def test_initialize_and_discovery_pass_the_allowlist(config):
    with anyio.fail_after(TIMEOUT):
        async with session(config) as client:
            assert client.server_info is not None and client.server_info.name == "haechi-e2e"
            tools = await client.list_tools()
            assert {tool.name for tool in tools.tools} == {"echo", "lookup_customer", "ask_model"}
            # prompts/list is discovery (always allowed) even though prompts/get is not.
            prompts = await client.list_prompts()
            assert [prompt.name for prompt in prompts.prompts] == ["greeting"]


@pytest.mark.anyio
async def test_tool_arguments_are_redacted_before_the_server(config):
    with anyio.fail_after(TIMEOUT):
        async with session(config) as client:
            result = await client.call_tool("echo", {"text": f"mail me at {EMAIL}"})
    # echo returns what it received: the server only ever saw the redacted value.
    assert not result.is_error
    assert text_of(result) == "mail me at [REDACTED:email]"
    assert EMAIL not in result.model_dump_json()


@pytest.mark.anyio
async def test_tool_results_are_protected_before_the_client(config):
    with anyio.fail_after(TIMEOUT):
        async with session(config) as client:
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
async def test_a_method_outside_the_allowlist_is_refused(config):
    with anyio.fail_after(TIMEOUT):
        async with session(config) as client:
            with pytest.raises(MCPError) as raised:
                await client.get_prompt("greeting")
            # The session stays usable after the refusal.
            still = await client.call_tool("echo", {"text": "still here"})
    assert raised.value.code == -32003
    assert raised.value.message == "haechi_mcp_method_not_allowed"
    assert raised.value.data == {"method": "prompts/get"}
    assert text_of(still) == "still here"


@pytest.mark.anyio
async def test_a_secret_in_tool_arguments_is_blocked(config):
    with anyio.fail_after(TIMEOUT):
        async with session(config) as client:
            with pytest.raises(MCPError) as raised:
                await client.call_tool("echo", {"text": API_KEY})
    # A JSON-RPC error for the call itself (not a tool result with isError).
    assert raised.value.code == -32001
    assert raised.value.message == "haechi_policy_block"
    data = raised.value.data
    assert isinstance(data, dict) and data.get("auditId") and "summary" in data
    assert "sk_live" not in json.dumps(data)


@pytest.mark.anyio
async def test_a_blocked_sampling_request_never_reaches_the_client(config):
    sampled = []

    async def sampling_callback(context, params):
        sampled.append(params)
        return await answer_sampling(context, params)

    with anyio.fail_after(TIMEOUT):
        async with session(config, sampling_callback=sampling_callback) as client:
            result = await client.call_tool("ask_model", {})
    # haechi answered the server's sampling/createMessage with the block, so the tool finished.
    assert sampled == []
    assert not result.is_error
    assert text_of(result) == "sampling failed: haechi_policy_block"


@pytest.mark.anyio
async def test_server_stderr_is_protected(config):
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errlog:
        with anyio.fail_after(TIMEOUT):
            async with session(config, errlog=errlog) as client:
                await client.send_ping()
        errlog.seek(0)
        stderr = errlog.read()
    assert "haechi-e2e MCP server starting; contact [REDACTED:email]" in stderr
    assert STDERR_EMAIL not in stderr


@pytest.mark.anyio
async def test_the_audit_chain_is_valid_and_holds_no_test_value(config):
    # Its own traffic, so this test does not depend on the others having run.
    with anyio.fail_after(TIMEOUT):
        async with session(config, sampling_callback=answer_sampling) as client:
            await client.call_tool("echo", {"text": f"mail me at {EMAIL}"})
            await client.call_tool("lookup_customer", {})
            await client.call_tool("ask_model", {})
            with pytest.raises(MCPError):
                await client.get_prompt("greeting")
            with pytest.raises(MCPError):
                await client.call_tool("echo", {"text": API_KEY})

    verify = subprocess.run(
        [HAECHI, "audit-verify", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["result"]["valid"] is True

    log = audit_log(config)
    for value in (EMAIL, PHONE, API_KEY, "sk_live_4eC39HqLyjWDarjtT1zdp7dc", STDERR_EMAIL):
        assert value not in log
    records = [json.loads(line) for line in log.splitlines() if line.strip()]
    refusals = [record for record in records if record.get("decision") == "mcp_method_not_allowed"]
    assert refusals and all(record.get("method") == "prompts/get" for record in refusals)
