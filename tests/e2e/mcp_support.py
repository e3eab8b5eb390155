"""Values and helpers shared by the MCP end-to-end tests (synthetic data only).

test_mcp_sdk.py and test_mcp_http_sdk.py drive tests/e2e/mcp_server.py (a server built with the
official MCP Python SDK) through haechi: over stdio behind `haechi mcp-wrap` (Wrapped), and over
Streamable HTTP behind `haechi proxy` with target.type "mcp-http" (serve_over_http, Gateway).
test_mcp_everything.py drives the npm reference server @modelcontextprotocol/server-everything
behind `haechi mcp-wrap` (wrapped_session). Every config comes from write_config.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from mcp import ClientSession, StdioServerParameters, stdio_client, types
from mcp.client.streamable_http import streamable_http_client

HAECHI = os.environ.get("HAECHI_E2E_HAECHI_BIN", "").strip()

# The values mcp_server.py puts in its answers and requests (CUSTOMER_EMAIL, CUSTOMER_PHONE,
# SAMPLING_SECRET); the tests also send them to the servers themselves.
EMAIL = "jane.doe@example.com"
PHONE = "010-1234-5678"
# How the phone comes out: masked, same length, only its ends kept.
MASKED_PHONE = "01*********78"
SECRET = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
API_KEY = f"api_key={SECRET}"
# What must never reach an audit log.
RAW_VALUES = (EMAIL, PHONE, API_KEY, SECRET)

# Bounds every test: a hang in the wrapper or the gateway fails the test instead of blocking the run.
TIMEOUT = 30
# Bound starting and stopping the HTTP server and its gateway.
STARTUP = 30
SHUTDOWN = 20

SERVER = Path(__file__).with_name("mcp_server.py")
# What the tests' configs allow of mcp_server.py (discovery and lifecycle methods always pass).
ALLOWED = ["initialize", "tools/call"]
# The SDK server's endpoint (MCPServer.run's default streamable_http_path).
MCP_PATH = "/mcp"
LISTENING = re.compile(r"^Haechi proxy listening on (http://127\.0\.0\.1:(\d+))$", re.MULTILINE)


def why_not_runnable(standin_reason: str, *variables: str) -> str | None:
    """Why a test module cannot run here (for its module-level skip), or None: scripts/e2e.sh sets
    HAECHI_E2E_HAECHI_BIN (and `variables`) for a real haechi; the nginx stand-in has `standin_reason`."""
    for name in ("HAECHI_E2E_HAECHI_BIN", *variables):
        if not os.environ.get(name, "").strip():
            return f"{name} is not set: run scripts/e2e.sh"
    if os.environ.get("HAECHI_E2E_STANDIN") == "1":
        return standin_reason
    return None


def write_config(directory: Path, allowed_methods: list[str], target: dict | None = None) -> Path:
    """A config made by `haechi init` in `directory`, then switched to enforce (presets
    llm-redact + secrets-only) with `allowed_methods` as the MCP allowlist, audited there.

    `target` entries replace the config's own (for `haechi proxy`: type and upstream); such a
    config also lets the proxy pick a free port.
    """
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
    data["mcp"]["allowedMethods"] = list(allowed_methods)
    if target:
        data["target"].update(target)
        data["proxy"]["port"] = 0
    path.write_text(json.dumps(data, indent=2))
    return path


def audit_log(config: Path) -> str:
    """The config's audit log as text."""
    return Path(json.loads(config.read_text())["audit"]["path"]).read_text()


def audit_records(config: Path) -> list[dict]:
    """The config's audit records, oldest first (none before the first one is written)."""
    path = Path(json.loads(config.read_text())["audit"]["path"])
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def verify_audit_chain(config: Path) -> dict:
    """`haechi audit-verify` on the config's audit log: checks the chain is valid, returns the result."""
    verify = subprocess.run(
        [HAECHI, "audit-verify", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    result = json.loads(verify.stdout)["result"]
    assert result["valid"] is True
    return result


def assert_policy_block(error) -> None:
    """`error` (an MCPError) is haechi's block: the JSON-RPC error -32001 haechi_policy_block for
    the request itself (not a tool result with isError), and its data holds no raw secret."""
    assert error.code == -32001
    assert error.message == "haechi_policy_block"
    assert "sk_live" not in json.dumps(error.data)


def assert_method_refused(error, method: str) -> None:
    """`error` (an MCPError) is haechi's refusal of `method`, which is outside mcp.allowedMethods."""
    assert error.code == -32003
    assert error.message == "haechi_mcp_method_not_allowed"
    assert error.data == {"method": method}


def assert_no_contact(message) -> None:
    """Neither the email nor the phone number appears anywhere in an SDK result."""
    whole = message.model_dump_json()
    assert EMAIL not in whole and PHONE not in whole


def text_of(result) -> str:
    """The text content blocks of a tool result or prompt messages, joined."""
    blocks = result.content if isinstance(result, types.CallToolResult) else [m.content for m in result.messages]
    return "\n".join(block.text for block in blocks if isinstance(block, types.TextContent))


async def answer_sampling(context, params) -> types.CreateMessageResult:
    """A client-side model: declares the sampling capability and answers "ok"."""
    return types.CreateMessageResult(
        role="assistant", content=types.TextContent(type="text", text="ok"), model="stub"
    )


@asynccontextmanager
async def initialized(read, write, **client_options):
    """A ClientSession over the transport's streams, past initialize."""
    async with ClientSession(read, write, **client_options) as client:
        await client.initialize()
        yield client


@asynccontextmanager
async def wrapped_session(config: Path, server: list[str], env=None, errlog=None, **client_options):
    """An initialized ClientSession whose server (the command words `server`) runs behind
    `haechi mcp-wrap`.

    `env` is added to the environment of haechi, which passes it on to the server. The wrapper's
    stderr (the server's, filtered) goes to errlog, else to the test's stderr.
    """
    params = StdioServerParameters(
        command=HAECHI, args=["mcp-wrap", "--config", str(config), "--", *server], env=env
    )
    async with stdio_client(params, errlog=errlog or sys.stderr) as (read, write):
        async with initialized(read, write, **client_options) as client:
            yield client


@dataclass
class Wrapped:
    """mcp_server.py over stdio behind `haechi mcp-wrap`."""

    config: Path
    name = "stdio"
    protocol = "mcp-stdio"  # as the audit records name it
    can_sample = True  # the server can send sampling/createMessage

    def session(self, errlog=None, **client_options):
        """An initialized ClientSession (see wrapped_session)."""
        return wrapped_session(self.config, [sys.executable, str(SERVER)], errlog=errlog, **client_options)

    def logs(self) -> str:
        return "(haechi mcp-wrap's stderr went to the test's stderr)"


@dataclass
class Gateway:
    """mcp_server.py over Streamable HTTP with `haechi proxy` in front of it."""

    style: str  # "sse" or "json": how the server answers a request POST
    config: Path
    url: str  # the MCP endpoint through the gateway
    stdout: Path
    stderr: Path
    protocol = "mcp-http"  # as the audit records name it

    @property
    def name(self) -> str:
        return f"http-{self.style}"

    @property
    def can_sample(self) -> bool:
        """With json_response=True the SDK server has no back-channel for sampling/createMessage."""
        return self.style == "sse"

    def logs(self) -> str:
        """The gateway's output, for failure messages."""
        return f"gateway stdout:\n{self.stdout.read_text()}\ngateway stderr:\n{self.stderr.read_text()}"

    @asynccontextmanager
    async def session(self, http_client=None, **client_options):
        """An initialized ClientSession whose server is reached through the gateway, over
        `http_client` when given (else the SDK makes its own HTTP client)."""
        async with streamable_http_client(self.url, http_client=http_client) as (read, write):
            async with initialized(read, write, **client_options) as client:
                yield client


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


@contextmanager
def serve_over_http(directory: Path, style: str):
    """mcp_server.py answering in `style` ("sse" streams or single "json" bodies) on a loopback
    port, with `haechi proxy` (target.type "mcp-http", the ALLOWED allowlist) in front of it.

    Yields the Gateway; afterwards checks that the proxy exits 0 on SIGTERM.
    """
    port = free_port()
    server_args = [sys.executable, str(SERVER), "http", str(port)] + (["json"] if style == "json" else [])
    server_log = open(directory / "server.log", "wb")
    server = subprocess.Popen(server_args, stdout=server_log, stderr=subprocess.STDOUT)
    proxy = None
    try:
        wait_for_port(port, server, "the MCP server")
        config = write_config(directory, ALLOWED, target={"type": "mcp-http", "upstream": f"http://127.0.0.1:{port}"})
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
