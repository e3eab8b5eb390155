"""The official MCP Python SDK through haechi to an SDK-built server, over each transport.

Every test here runs once per transport (the `transport` fixture):
  stdio      ClientSession over stdio_client -> haechi mcp-wrap -> tests/e2e/mcp_server.py
  http-sse   ClientSession over streamable_http_client -> haechi proxy (target.type "mcp-http")
             -> mcp_server.py over Streamable HTTP on loopback, answering with SSE streams
  http-json  the same, the server answering with single JSON bodies (json_response=True)
The config (mcp_support.write_config): enforce, llm-redact + secrets-only, only initialize and
tools/call allowed (discovery methods such as tools/list always pass), audited to a temp dir.
What only one transport has is checked at the end of this module (stdio: the server's stderr)
and in test_mcp_http_sdk.py (HTTP: the session id, the exchanges, other HTTP methods).
"""

import tempfile

import anyio
import pytest
from mcp import MCPError

from mcp_support import (
    ALLOWED,
    API_KEY,
    EMAIL,
    MASKED_PHONE,
    PHONE,
    RAW_VALUES,
    TIMEOUT,
    Wrapped,
    answer_sampling,
    assert_method_refused,
    assert_no_contact,
    assert_policy_block,
    audit_log,
    audit_records,
    serve_over_http,
    text_of,
    verify_audit_chain,
    why_not_runnable,
    write_config,
)

if reason := why_not_runnable("mcp-wrap and the mcp-http target have no stand-in"):
    pytest.skip(reason, allow_module_level=True)

# What mcp_server.py writes to its stderr at startup on stdio.
STDERR_EMAIL = "admin@example.org"


@pytest.fixture(scope="module", params=["stdio", "http-sse", "http-json"])
def transport(request, tmp_path_factory):
    """A Wrapped (stdio) or a Gateway (HTTP, its server and proxy running for the module): either
    way `transport.session(**client_options)` opens an initialized ClientSession to mcp_server.py."""
    directory = tmp_path_factory.mktemp(request.param)
    if request.param == "stdio":
        yield Wrapped(write_config(directory, ALLOWED))
    else:
        with serve_over_http(directory, request.param.removeprefix("http-")) as gateway:
            yield gateway


@pytest.mark.anyio
async def test_initialize_and_discovery_pass_the_allowlist(transport):
    with anyio.fail_after(TIMEOUT):
        async with transport.session() as client:
            assert client.server_info is not None and client.server_info.name == "haechi-e2e"
            tools = await client.list_tools()
            assert {tool.name for tool in tools.tools} == {"echo", "lookup_customer", "ask_model"}
            # prompts/list is discovery (always allowed) even though prompts/get is not.
            prompts = await client.list_prompts()
            assert [prompt.name for prompt in prompts.prompts] == ["greeting"]


@pytest.mark.anyio
async def test_tool_arguments_are_redacted_before_the_server(transport):
    with anyio.fail_after(TIMEOUT):
        async with transport.session() as client:
            result = await client.call_tool("echo", {"text": f"mail me at {EMAIL}"})
    # echo returns what it received: the server only ever saw the redacted value.
    assert not result.is_error
    assert text_of(result) == "mail me at [REDACTED:email]"
    assert EMAIL not in result.model_dump_json()


@pytest.mark.anyio
async def test_tool_results_are_redacted_and_masked_before_the_client(transport):
    with anyio.fail_after(TIMEOUT):
        async with transport.session() as client:
            result = await client.call_tool("lookup_customer", {})
    assert not result.is_error
    # The email is redacted (llm-redact), the phone masked.
    protected = f"Customer Jane Doe, email [REDACTED:email], phone {MASKED_PHONE}"
    assert text_of(result) == protected
    # The SDK's structured copy of a str result is protected as well.
    assert result.structured_content == {"result": protected}
    assert_no_contact(result)


@pytest.mark.anyio
async def test_a_method_outside_the_allowlist_is_refused_with_32003_and_the_session_goes_on(transport):
    with anyio.fail_after(TIMEOUT):
        async with transport.session() as client:
            with pytest.raises(MCPError) as raised:
                await client.get_prompt("greeting")
            still = await client.call_tool("echo", {"text": "still here"})
    assert_method_refused(raised.value, "prompts/get")
    assert text_of(still) == "still here"


@pytest.mark.anyio
async def test_a_secret_in_tool_arguments_is_blocked_with_32001_and_the_session_goes_on(transport):
    with anyio.fail_after(TIMEOUT):
        async with transport.session() as client:
            with pytest.raises(MCPError) as raised:
                await client.call_tool("echo", {"text": API_KEY})
            still = await client.call_tool("echo", {"text": "still here"})
    assert_policy_block(raised.value)
    data = raised.value.data
    assert isinstance(data, dict) and data.get("auditId")
    assert data["summary"] == {"detectionCount": 1, "byType": {"api_key": 1}, "byAction": {"block": 1}}
    assert text_of(still) == "still here"


@pytest.mark.anyio
async def test_a_blocked_sampling_request_never_reaches_the_client(transport):
    if not transport.can_sample:
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
        async with transport.session(sampling_callback=sampling_callback) as client:
            result = await client.call_tool("ask_model", {})
    # haechi answered the server's sampling/createMessage with the block (over HTTP, a POST of
    # its own), so the tool finished.
    assert sampled == []
    assert not result.is_error
    assert text_of(result) == "sampling failed: haechi_policy_block", transport.logs()


@pytest.mark.anyio
async def test_the_audit_chain_is_valid_and_records_detections_blocks_and_refusals(transport):
    # Its own traffic, so this test does not depend on the others having run.
    with anyio.fail_after(TIMEOUT):
        async with transport.session(sampling_callback=answer_sampling) as client:
            await client.call_tool("echo", {"text": f"mail me at {EMAIL}"})
            await client.call_tool("lookup_customer", {})
            await client.call_tool("ask_model", {})
            with pytest.raises(MCPError):
                await client.get_prompt("greeting")
            with pytest.raises(MCPError):
                await client.call_tool("echo", {"text": API_KEY})

    verify_audit_chain(transport.config)
    log = audit_log(transport.config)
    for value in (*RAW_VALUES, STDERR_EMAIL):
        assert value not in log
    records = audit_records(transport.config)
    protects = [record for record in records if "detections" in record]
    assert protects and all(record["protocol"] == transport.protocol for record in protects)

    def types_of(operation: str) -> set[str]:
        return {d["type"] for r in protects if r["operation"] == operation for d in r["detections"]}

    # The email in the tool arguments, the email and phone in lookup_customer's result.
    assert "email" in types_of("tools/call")
    assert {"email", "phone"} <= types_of("result")
    # The blocked call (and, when the server can send one, the blocked sampling request).
    blocked = {(r["operation"], d["type"]) for r in protects if r["blocked"] for d in r["detections"]}
    expected = {("tools/call", "api_key")}
    if transport.can_sample:
        expected.add(("sampling/createMessage", "api_key"))
    assert blocked == expected
    refusals = [record for record in records if record.get("decision") == "mcp_method_not_allowed"]
    assert refusals and all(
        record.get("method") == "prompts/get" and record.get("protocol") == transport.protocol for record in refusals
    )


# ---------------------------------------------------------------- stdio only


@pytest.fixture(scope="module")
def wrapped(tmp_path_factory) -> Wrapped:
    return Wrapped(write_config(tmp_path_factory.mktemp("stdio-only"), ALLOWED))


@pytest.mark.anyio
async def test_stdio_server_stderr_is_redacted_by_the_wrapper(wrapped):
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errlog:
        with anyio.fail_after(TIMEOUT):
            async with wrapped.session(errlog=errlog) as client:
                await client.send_ping()
        errlog.seek(0)
        stderr = errlog.read()
    assert "haechi-e2e MCP server starting; contact [REDACTED:email]" in stderr
    assert STDERR_EMAIL not in stderr
