"""The official Anthropic Python SDK through `haechi proxy` with target.type "anthropic"."""

import anthropic
import pytest

from support import CANNED_REPLY, EMAIL, PRIVATE_KEY, UPSTREAM_EMAIL, b64

MODEL = "claude-sonnet-4-6"


@pytest.fixture
def client(anthropic_gateway_url, monkeypatch):
    """Authenticates the classic Anthropic way, with an `x-api-key` header."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    return anthropic.Anthropic(
        base_url=anthropic_gateway_url,
        api_key=None,
        default_headers={"X-Api-Key": "sk-ant-test"},
        max_retries=0,
        timeout=30,
    )


def user(text: str) -> list:
    return [{"role": "user", "content": text}]


def test_messages_create_parses_and_provider_headers_reach_the_upstream(client, stub, protecting, nonce):
    message = client.messages.create(
        model=MODEL,
        max_tokens=128,
        system="Answer briefly.",
        messages=user(f"Ticket {nonce}: my address is {EMAIL}."),
    )

    assert message.type == "message"
    assert message.role == "assistant"
    assert message.model == MODEL
    assert message.content[0].type == "text"
    assert message.content[0].text == CANNED_REPLY
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0

    seen = stub.last_for(nonce)
    assert seen["path"] == "/v1/messages"
    assert seen["headers"].get("x-api-key") == "sk-ant-test"
    assert seen["headers"].get("anthropic-version")
    if protecting:
        assert EMAIL not in seen["body"]
        assert "[REDACTED:email]" in seen["body"]


def test_an_api_key_given_to_the_sdk_travels_as_a_bearer_token(anthropic_gateway_url, stub, nonce):
    # Recent SDKs send `api_key` as `Authorization: Bearer`; with auth.provider "none" that is
    # the upstream credential and must be forwarded.
    client = anthropic.Anthropic(base_url=anthropic_gateway_url, api_key="sk-ant-test", max_retries=0)
    message = client.messages.create(model=MODEL, max_tokens=16, messages=user(f"Hi {nonce}"))

    assert message.content[0].text == CANNED_REPLY
    headers = stub.last_for(nonce)["headers"]
    assert headers.get("authorization") == "Bearer sk-ant-test" or headers.get("x-api-key") == "sk-ant-test"


def test_content_blocks_and_the_system_prompt_are_protected(client, stub, protection, nonce):
    client.messages.create(
        model=MODEL,
        max_tokens=64,
        system=[{"type": "text", "text": f"Escalations go to {EMAIL}."}],
        messages=[{"role": "user", "content": [{"type": "text", "text": f"Hi {nonce}, mail {EMAIL}"}]}],
    )
    seen = stub.last_for(nonce)
    assert EMAIL not in seen["body"]
    assert seen["body"].count("[REDACTED:email]") == 2


def test_streaming_yields_text_and_a_final_message(client, stub, nonce):
    with client.messages.stream(model=MODEL, max_tokens=128, messages=user(f"Stream {nonce}.")) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == CANNED_REPLY
    assert final.stop_reason == "end_turn"
    assert final.content[0].text == CANNED_REPLY
    assert stub.last_for(nonce)["path"] == "/v1/messages"


def test_a_private_key_is_refused_before_the_upstream(client, stub, protection, nonce):
    with pytest.raises(anthropic.PermissionDeniedError) as raised:
        client.messages.create(
            model=MODEL, max_tokens=64, messages=user(f"Ticket {nonce}, my key:\n{PRIVATE_KEY}")
        )
    assert raised.value.status_code == 403
    assert raised.value.response.json()["error"] == "haechi_policy_block"
    assert nonce not in stub.last()["body"], "a blocked request reached the upstream"


def test_count_tokens_is_protected(client, stub, protecting, nonce):
    counted = client.messages.count_tokens(model=MODEL, messages=user(f"Count {nonce} for {EMAIL}"))

    assert counted.input_tokens > 0
    seen = stub.last_for(nonce)
    assert seen["path"] == "/v1/messages/count_tokens"
    if protecting:
        assert EMAIL not in seen["body"]


def test_response_protection_redacts_pii_the_model_sends_back(client, protection):
    message = client.messages.create(
        model=MODEL,
        max_tokens=64,
        messages=user(b64(f"Please forward it to {UPSTREAM_EMAIL}.")),
        extra_headers={"x-stub-echo": "b64"},
    )
    text = message.content[0].text
    assert UPSTREAM_EMAIL not in text
    assert "[REDACTED:email]" in text
