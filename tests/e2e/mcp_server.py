"""A small MCP server built with the official Python SDK (mcp 2.x), for the MCP SDK e2e tests.

  python mcp_server.py                    stdio, behind `haechi mcp-wrap`
  python mcp_server.py http PORT [json]   Streamable HTTP on http://127.0.0.1:PORT/mcp, behind
                                          `haechi proxy`; answers are SSE streams, or single
                                          JSON bodies with `json`
(mcp_support.py starts both; test_mcp_sdk.py runs its tests over each transport.)

Either way, what the tools see and return is what crossed haechi:
  echo             returns its `text` argument unchanged (what reached the server)
  lookup_customer  returns a record with an email and a Korean mobile number
  ask_model        asks the client's model (sampling/createMessage) with an API key in the
                   message; reports "sampling failed: ..." when that request is refused
  greeting         a prompt (the tests' config does not allow prompts/get)
On stdio, at startup it writes one line with an email address to stderr.
"""

import sys
import warnings

from mcp import MCPDeprecationWarning, types
from mcp.server.mcpserver import Context, MCPServer

# The values the tests look for; kept here so the server is self-contained.
CUSTOMER_EMAIL = "jane.doe@example.com"
CUSTOMER_PHONE = "010-1234-5678"
SAMPLING_SECRET = "api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc"
STDERR_CONTACT = "admin@example.org"

# Sampling is deprecated from protocol 2026-07-28 on, but it is what a handshake-era client
# (the SDK's ClientSession.initialize) speaks; keep the warning off stderr.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

server = MCPServer("haechi-e2e", log_level="WARNING")


@server.tool()
def echo(text: str) -> str:
    """Return the text exactly as it arrived."""
    return text


@server.tool()
def lookup_customer() -> str:
    """Return a customer record holding personal data."""
    return f"Customer Jane Doe, email {CUSTOMER_EMAIL}, phone {CUSTOMER_PHONE}"


@server.tool()
async def ask_model(ctx: Context) -> str:
    """Ask the client's model a question that carries a secret."""
    message = types.SamplingMessage(
        role="user",
        content=types.TextContent(type="text", text=f"Check this config line: {SAMPLING_SECRET}"),
    )
    try:
        result = await ctx.session.create_message(
            [message], max_tokens=32, related_request_id=ctx.request_id
        )
    except Exception as error:  # the refusal arrives as an MCPError
        return f"sampling failed: {error}"
    text = result.content.text if isinstance(result.content, types.TextContent) else ""
    return f"model said: {text}"


@server.prompt()
def greeting() -> str:
    """A friendly opener."""
    return "Say hello to the user."


def main(argv: list[str]) -> None:
    if argv[:1] == ["http"] and len(argv) in (2, 3) and argv[2:] in ([], ["json"]):
        # Loopback only; the SDK then also checks Host/Origin against 127.0.0.1/localhost.
        server.run(
            "streamable-http",
            host="127.0.0.1",
            port=int(argv[1]),
            json_response=argv[2:] == ["json"],
        )
    elif not argv:
        print(f"haechi-e2e MCP server starting; contact {STDERR_CONTACT}", file=sys.stderr, flush=True)
        server.run("stdio")
    else:
        sys.exit("usage: mcp_server.py [http PORT [json]]")


if __name__ == "__main__":
    main(sys.argv[1:])
