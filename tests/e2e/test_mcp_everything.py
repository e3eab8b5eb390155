"""The MCP reference server `@modelcontextprotocol/server-everything` behind `haechi mcp-wrap`.

Client (the official Python SDK's ClientSession over stdio_client) -> haechi mcp-wrap -> the npm
package pinned in tests/e2e/package.json, a server none of whose code is ours. scripts/e2e.sh
installs it (npm ci) and sets HAECHI_E2E_EVERYTHING to its command as a JSON array, e.g.
["/usr/bin/node", ".../server-everything/dist/index.js", "stdio"].

The config: enforce, the llm-redact + secrets-only presets, the default mcp.allowedMethods
(initialize, tools/call, resources/read, prompts/get), audit to a pytest temp dir.

What the server offers and how the tests use it:
- echo returns its argument, so the text that comes back is what the server received;
- gzip-file-as-resource stores a data: URI gzipped as a session resource: a read returns bytes
  the wrapper cannot inspect, so they show exactly what the server was given;
- get-env returns the server's environment: a value only the server has, protected on the way
  back;
- args-prompt puts its arguments into the prompt text;
- with the client's roots, sampling and elicitation capabilities the server asks the client
  for its roots on its own (350 ms after initialization) and offers tools that send
  sampling/createMessage and elicitation/create back through the wrapper;
- resources/subscribe is a method the server supports outside the default allowlist.
"""

import base64
import gzip
import json
import os
import tempfile
import warnings
from pathlib import Path

import anyio
import pytest
from mcp import MCPError, types

from mcp_support import (
    API_KEY,
    EMAIL,
    MASKED_PHONE,
    PHONE,
    RAW_VALUES,
    TIMEOUT,
    assert_method_refused,
    assert_no_contact,
    assert_policy_block,
    audit_log,
    audit_records,
    text_of,
    verify_audit_chain,
    why_not_runnable,
    wrapped_session,
    write_config,
)

if reason := why_not_runnable("mcp-wrap has no stand-in", "HAECHI_E2E_EVERYTHING"):
    pytest.skip(reason, allow_module_level=True)

EVERYTHING = os.environ["HAECHI_E2E_EVERYTHING"].strip()
try:
    SERVER = json.loads(EVERYTHING)
except ValueError:
    SERVER = None
if not (isinstance(SERVER, list) and SERVER and all(isinstance(word, str) for word in SERVER)):
    raise RuntimeError(f"HAECHI_E2E_EVERYTHING must be a JSON array of command words, not {EVERYTHING!r}")

DEFAULT_ALLOWLIST = ["initialize", "tools/call", "resources/read", "prompts/get"]


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    return write_config(tmp_path_factory.mktemp("everything"), DEFAULT_ALLOWLIST)


@pytest.fixture(scope="module")
def narrow_config(tmp_path_factory) -> Path:
    """The default allowlist without prompts/get."""
    return write_config(tmp_path_factory.mktemp("everything-narrow"), ["initialize", "tools/call", "resources/read"])


def detected(record: dict) -> dict:
    return record.get("summary", {}).get("byType", {})


def session(config: Path, env=None, errlog=None, **client_options):
    """An initialized ClientSession whose server is server-everything behind haechi mcp-wrap
    (`env` reaches the server through haechi)."""
    return wrapped_session(config, SERVER, env=env, errlog=errlog, **client_options)


@pytest.mark.anyio
async def test_the_server_is_discovered_through_the_wrapper(config):
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errlog:
        with anyio.fail_after(TIMEOUT):
            async with session(config, errlog=errlog) as client:
                assert client.server_info is not None
                assert client.server_info.name == "mcp-servers/everything"
                tools = {tool.name for tool in (await client.list_tools()).tools}
                prompts = {prompt.name: prompt for prompt in (await client.list_prompts()).prompts}
                resources = [resource.uri for resource in (await client.list_resources()).resources]
                templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        errlog.seek(0)
        stderr = errlog.read()
    assert {"echo", "get-env", "gzip-file-as-resource"} <= tools
    assert [argument.name for argument in prompts["args-prompt"].arguments] == ["city", "state"]
    assert "demo://resource/static/document/features.md" in resources
    assert "demo://resource/dynamic/text/{resourceId}" in templates
    # The server's own stderr line, through the default --stderr filter.
    assert "Starting default (STDIO) server..." in stderr


@pytest.mark.anyio
async def test_tool_arguments_are_protected_before_the_server(config):
    before = len(audit_records(config))
    with anyio.fail_after(TIMEOUT):
        async with session(config) as client:
            result = await client.call_tool("echo", {"message": f"mail {EMAIL} or call {PHONE}"})
    assert not result.is_error
    assert text_of(result) == f"Echo: mail [REDACTED:email] or call {MASKED_PHONE}"
    assert_no_contact(result)

    # The arguments were protected on the way in, and the echo had nothing left to protect on
    # the way out: the server only ever saw the protected values.
    records = audit_records(config)[before:]
    calls = [record for record in records if record.get("operation") == "tools/call"]
    assert [detected(record) for record in calls] == [{"email": 1, "phone": 1}]
    answers = [record for record in records if record.get("operation") == "result"]
    assert answers and all(detected(record) == {} for record in answers)


@pytest.mark.anyio
async def test_what_the_server_stores_holds_only_protected_values(config):
    # The server fetches the data: URI, gzips it and keeps it as a session resource. The read
    # returns gzip bytes in base64, which the wrapper cannot inspect: they are what the server got.
    data = f"data:text/plain,{EMAIL},{PHONE}"
    with anyio.fail_after(TIMEOUT):
        async with session(config) as client:
            created = await client.call_tool("gzip-file-as-resource", {"name": "contact.txt.gz", "data": data})
            assert not created.is_error, text_of(created)
            links = [block for block in created.content if isinstance(block, types.ResourceLink)]
            assert [str(link.uri) for link in links] == ["demo://resource/session/contact.txt.gz"]
            read = await client.read_resource("demo://resource/session/contact.txt.gz")
    [content] = read.contents
    assert isinstance(content, types.BlobResourceContents)
    assert content.mime_type == "application/gzip"
    assert gzip.decompress(base64.b64decode(content.blob)).decode() == f"[REDACTED:email],{MASKED_PHONE}"


@pytest.mark.anyio
async def test_tool_results_are_protected_before_the_client(config):
    # Only the server has this value (its environment); get-env returns it.
    env = {"HAECHI_E2E_CONTACT": f"{EMAIL} {PHONE}"}
    with anyio.fail_after(TIMEOUT):
        async with session(config, env=env) as client:
            result = await client.call_tool("get-env", {})
    assert not result.is_error
    text = text_of(result)
    assert f'"HAECHI_E2E_CONTACT": "[REDACTED:email] {MASKED_PHONE}"' in text
    assert_no_contact(result)


@pytest.mark.anyio
async def test_prompt_arguments_are_protected(config):
    with anyio.fail_after(TIMEOUT):
        async with session(config) as client:
            prompt = await client.get_prompt("args-prompt", {"city": EMAIL, "state": PHONE})
    assert text_of(prompt) == f"What's weather in [REDACTED:email], {MASKED_PHONE}?"
    assert_no_contact(prompt)


@pytest.mark.anyio
async def test_resources_are_read_through_the_wrapper(config):
    with anyio.fail_after(TIMEOUT):
        async with session(config) as client:
            document = await client.read_resource("demo://resource/static/document/features.md")
            text = await client.read_resource("demo://resource/dynamic/text/1")
            blob = await client.read_resource("demo://resource/dynamic/blob/7")
    [document] = document.contents
    assert document.mime_type == "text/markdown"
    assert document.text.startswith("# Everything Server - Features")
    assert "## Tools" in document.text
    [text] = text.contents
    assert text.text.startswith("Resource 1: This is a plaintext resource created at ")
    # Base64 content passes unchanged.
    [blob] = blob.contents
    assert base64.b64decode(blob.blob).decode().startswith("Resource 7: This is a base64 blob created at ")


@pytest.mark.anyio
async def test_a_secret_in_tool_arguments_is_blocked(config):
    with anyio.fail_after(TIMEOUT):
        async with session(config) as client:
            with pytest.raises(MCPError) as raised:
                await client.call_tool("echo", {"message": f"use {API_KEY}"})
            # The session stays usable after the refusal.
            still = await client.call_tool("echo", {"message": "still here"})
    assert_policy_block(raised.value)
    data = raised.value.data
    assert isinstance(data, dict) and data.get("auditId")
    assert data["summary"]["byType"] == {"api_key": 1}
    assert text_of(still) == "Echo: still here"


@pytest.mark.anyio
async def test_a_secret_in_a_tool_result_is_blocked(config):
    env = {"HAECHI_E2E_TOKEN": API_KEY}
    with anyio.fail_after(TIMEOUT):
        async with session(config, env=env) as client:
            with pytest.raises(MCPError) as raised:
                await client.call_tool("get-env", {})
            still = await client.call_tool("echo", {"message": "still here"})
    assert_policy_block(raised.value)
    assert text_of(still) == "Echo: still here"


@pytest.mark.anyio
async def test_a_method_outside_the_default_allowlist_is_refused(config):
    with anyio.fail_after(TIMEOUT):
        async with session(config) as client:
            with warnings.catch_warnings():
                # The SDK deprecates resources/subscribe (and logging) for the 2026-07-28 revision.
                warnings.simplefilter("ignore")
                with pytest.raises(MCPError) as raised:
                    await client.subscribe_resource("demo://resource/dynamic/text/1")
                # logging/setLevel is a lifecycle method: it always passes.
                await client.set_logging_level("error")
            still = await client.call_tool("echo", {"message": "still here"})
    assert_method_refused(raised.value, "resources/subscribe")
    assert text_of(still) == "Echo: still here"


@pytest.mark.anyio
async def test_prompts_get_outside_a_narrow_allowlist_is_refused(narrow_config):
    with anyio.fail_after(TIMEOUT):
        async with session(narrow_config) as client:
            # prompts/list is discovery: it passes even though prompts/get does not.
            prompts = {prompt.name for prompt in (await client.list_prompts()).prompts}
            with pytest.raises(MCPError) as raised:
                await client.get_prompt("args-prompt", {"city": "Seoul"})
            read = await client.read_resource("demo://resource/dynamic/text/2")
    assert "args-prompt" in prompts
    assert_method_refused(raised.value, "prompts/get")
    assert read.contents[0].text.startswith("Resource 2: ")
    refusals = [r for r in audit_records(narrow_config) if r.get("decision") == "mcp_method_not_allowed"]
    assert [record.get("method") for record in refusals] == ["prompts/get"]


@pytest.mark.anyio
async def test_the_servers_own_requests_cross_the_wrapper(config):
    """roots/list (sent by the server on its own), sampling/createMessage, elicitation/create.

    The client's answers carry the email; each is protected before the server sees it.
    """
    roots_synced = anyio.Event()
    asked = {"roots": 0, "sampling": [], "elicitation": []}

    async def list_roots(context) -> types.ListRootsResult:
        asked["roots"] += 1
        return types.ListRootsResult(roots=[types.Root(uri="file:///srv/project", name=f"project of {EMAIL}")])

    async def sampling(context, params) -> types.CreateMessageResult:
        asked["sampling"].append(params)
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text=f"write to {EMAIL}"), model="stub"
        )

    async def elicitation(context, params) -> types.ElicitResult:
        asked["elicitation"].append(params)
        return types.ElicitResult(action="accept", content={"email": EMAIL, "check": True})

    async def logging_callback(params: types.LoggingMessageNotificationParams) -> None:
        if "root(s) received from client" in str(params.data):
            roots_synced.set()

    before = len(audit_records(config))
    with anyio.fail_after(TIMEOUT):
        async with session(
            config,
            list_roots_callback=list_roots,
            sampling_callback=sampling,
            elicitation_callback=elicitation,
            logging_callback=logging_callback,
        ) as client:
            # The server asks for the roots by itself after initialization.
            await roots_synced.wait()
            tools = {tool.name for tool in (await client.list_tools()).tools}
            assert {"get-roots-list", "trigger-sampling-request", "trigger-elicitation-request"} <= tools
            roots = await client.call_tool("get-roots-list", {})
            sampled = await client.call_tool("trigger-sampling-request", {"prompt": f"ask {EMAIL}"})
            elicited = await client.call_tool("trigger-elicitation-request", {})

    assert asked["roots"] == 1
    assert "1. project of [REDACTED:email]" in text_of(roots)
    # The server's sampling request carried the protected tool argument.
    [request] = asked["sampling"]
    assert request.messages[0].content.text == "Resource trigger-sampling-request context: ask [REDACTED:email]"
    assert '"text": "write to [REDACTED:email]"' in text_of(sampled)
    assert len(asked["elicitation"]) == 1
    assert "- Email: [REDACTED:email]" in text_of(elicited)
    for result in (roots, sampled, elicited):
        assert not result.is_error
        assert EMAIL not in result.model_dump_json()

    # Detections: the tool argument, and each of the client's three answers. The tool results
    # built from those answers had nothing left to protect: the server never saw the email.
    records = audit_records(config)[before:]
    found = [(record["operation"], detected(record)) for record in records if detected(record)]
    email = {"email": 1}
    assert found == [("result", email), ("tools/call", email), ("result", email), ("result", email)]


@pytest.mark.anyio
async def test_the_audit_chain_is_valid_and_holds_no_raw_value(config):
    # Its own traffic, so this test does not depend on the others having run.
    with anyio.fail_after(TIMEOUT):
        async with session(config, env={"HAECHI_E2E_CONTACT": f"{EMAIL} {PHONE}"}) as client:
            await client.call_tool("echo", {"message": f"mail {EMAIL} or call {PHONE}"})
            await client.call_tool("get-env", {})
            await client.get_prompt("args-prompt", {"city": EMAIL, "state": PHONE})
            await client.call_tool("gzip-file-as-resource", {"name": "audit.gz", "data": f"data:text/plain,{EMAIL}"})
            await client.read_resource("demo://resource/session/audit.gz")
            with pytest.raises(MCPError):
                await client.call_tool("echo", {"message": API_KEY})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with pytest.raises(MCPError):
                    await client.subscribe_resource("demo://resource/dynamic/text/1")

    result = verify_audit_chain(config)
    assert result["records"] == len(audit_records(config)) > 0

    log = audit_log(config)
    for value in RAW_VALUES:
        assert value not in log
    records = audit_records(config)
    assert any(record.get("blocked") and detected(record) == {"api_key": 1} for record in records)
    refusals = [record for record in records if record.get("decision") == "mcp_method_not_allowed"]
    assert refusals and all(record.get("method") == "resources/subscribe" for record in refusals)
