"""Shared fixtures for the end-to-end checks: real SDK clients -> haechi proxy -> stub upstream.

scripts/e2e.sh starts everything and sets:
  HAECHI_E2E_GATEWAY            openai-compatible gateway (enforce, llm-redact + secrets-only,
                                streaming pass-through, response protection enforce)
  HAECHI_E2E_ANTHROPIC_GATEWAY  the same config with target.type "anthropic"
  HAECHI_E2E_TOKENIZE_GATEWAY   openai-compatible, email tokenized, responses detokenized
  HAECHI_E2E_INSPECT_GATEWAY    the tokenize config with streaming.requestMode "inspect"
  HAECHI_E2E_STUB               the stub upstream (started with --record) behind all of them
  HAECHI_E2E_STANDIN=1          the "gateways" are plain nginx proxies: protection checks skip
  HAECHI_E2E_HAECHI_BIN         the haechi binary (empty with the nginx stand-in); the MCP SDK
                                tests run `haechi mcp-wrap` and `haechi proxy` (target.type
                                "mcp-http") with it, in front of tests/e2e/mcp_server.py
                                (test_mcp_sdk.py: every transport; test_mcp_http_sdk.py: what
                                only HTTP has)
  HAECHI_E2E_EVERYTHING         the command of the npm MCP reference server
                                @modelcontextprotocol/server-everything as a JSON array (node,
                                its entry point, "stdio"; empty with the nginx stand-in), run
                                behind `haechi mcp-wrap` by test_mcp_everything.py
Shared values and helpers: support.py (the LLM SDK tests), mcp_support.py (the MCP tests).
"""

import os
import random
import string

import pytest

from support import Stub

# Before any test module imports it: its assertions (audit chain, gateway exit) report like a test's.
pytest.register_assert_rewrite("mcp_support")


def _url(name: str):
    value = os.environ.get(name, "").strip().rstrip("/")
    return value or None


def _require(name: str) -> str:
    url = _url(name)
    if url is None:
        pytest.skip(f"{name} is not set: run scripts/e2e.sh")
    return url


@pytest.fixture(scope="session")
def gateway_url() -> str:
    return _require("HAECHI_E2E_GATEWAY")


@pytest.fixture(scope="session")
def anthropic_gateway_url() -> str:
    return _require("HAECHI_E2E_ANTHROPIC_GATEWAY")


@pytest.fixture(scope="session")
def tokenize_gateway_url() -> str:
    return _require("HAECHI_E2E_TOKENIZE_GATEWAY")


@pytest.fixture(scope="session")
def inspect_gateway_url() -> str:
    return _require("HAECHI_E2E_INSPECT_GATEWAY")


@pytest.fixture(scope="session")
def stub() -> Stub:
    return Stub(_require("HAECHI_E2E_STUB"))


@pytest.fixture(scope="session")
def protecting() -> bool:
    """False when a plain proxy stands in for the gateway (tests the harness, not Haechi)."""
    return os.environ.get("HAECHI_E2E_STANDIN") != "1"


@pytest.fixture
def protection(protecting):
    """Use in a test that only makes sense against the real gateway."""
    if not protecting:
        pytest.skip("a stand-in proxy does not protect")


@pytest.fixture
def anyio_backend() -> str:
    """The event loop for @pytest.mark.anyio tests (the MCP SDK tests)."""
    return "asyncio"


@pytest.fixture
def nonce() -> str:
    # Letters only: a digit run could itself look like a phone or an id to the detector.
    return "".join(random.choices(string.ascii_lowercase, k=16))
