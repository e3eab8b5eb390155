"""The official OpenAI Python SDK through `haechi proxy` (openai-compatible adapter)."""

import openai
import pytest

from support import CANNED_REPLY, CARD, EMAIL, PRIVATE_KEY, UPSTREAM_EMAIL, b64


def make_client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url + "/v1", api_key="sk-test", max_retries=0, timeout=30)


@pytest.fixture
def client(gateway_url):
    return make_client(gateway_url)


def ask(text: str, system: str = "Answer briefly.") -> list:
    return [{"role": "system", "content": system}, {"role": "user", "content": text}]


def test_chat_completion_parses_and_the_upstream_never_sees_the_email(client, stub, protecting, nonce):
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=ask(f"Ticket {nonce}: please reply to {EMAIL} today.")
    )

    assert completion.object == "chat.completion"
    assert completion.model == "gpt-4o-mini"
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == CANNED_REPLY
    assert choice.finish_reason == "stop"
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens

    seen = stub.last_for(nonce)
    assert seen["path"] == "/v1/chat/completions"
    # auth.provider "none": the client's Authorization is the upstream key and is forwarded.
    assert seen["headers"].get("authorization") == "Bearer sk-test"
    if protecting:
        assert EMAIL not in seen["body"]
        assert "[REDACTED:email]" in seen["body"]


def test_the_system_message_is_protected_too(client, stub, protection, nonce):
    client.chat.completions.create(
        model="gpt-4o-mini", messages=ask(f"Hello {nonce}", system=f"The operator is {EMAIL}.")
    )
    seen = stub.last_for(nonce)
    assert EMAIL not in seen["body"]


@pytest.mark.parametrize(
    "secret",
    [pytest.param(PRIVATE_KEY, id="pem-private-key"), pytest.param(CARD, id="card-number")],
)
def test_a_hard_block_value_is_refused_before_the_upstream(client, stub, protection, nonce, secret):
    with pytest.raises(openai.PermissionDeniedError) as raised:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=ask(f"Ticket {nonce}: please check this:\n{secret}")
        )
    assert raised.value.status_code == 403
    assert raised.value.response.json()["error"] == "haechi_policy_block"
    last = stub.last()
    assert nonce not in last["body"], "a blocked request reached the upstream"


def test_streaming_iterates_chunks(client, stub, nonce):
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=ask(f"Stream {nonce} please."), stream=True
    )
    chunks = list(stream)

    assert len(chunks) > 2
    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == CANNED_REPLY
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert stub.last_for(nonce)["path"] == "/v1/chat/completions"


def test_response_protection_redacts_pii_the_model_sends_back(client, protection):
    # The stub decodes this and replies with an email the request never carried in the clear.
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=ask(b64(f"Sure, write to {UPSTREAM_EMAIL} for a refund.")),
        extra_headers={"x-stub-echo": "b64"},
    )
    content = completion.choices[0].message.content
    assert UPSTREAM_EMAIL not in content
    assert "[REDACTED:email]" in content
    assert content.startswith("Sure, write to ")


def test_embeddings_route(client, stub, protecting, nonce):
    result = client.embeddings.create(model="text-embedding-3-small", input=f"Note {nonce} from {EMAIL}")

    assert len(result.data) == 1
    assert len(result.data[0].embedding) == 4
    assert result.data[0].embedding[0] == pytest.approx(0.1)
    seen = stub.last_for(nonce)
    assert seen["path"] == "/v1/embeddings"
    if protecting:
        assert EMAIL not in seen["body"]


def test_legacy_completions_route(client, stub, protecting, nonce):
    result = client.completions.create(model="gpt-3.5-turbo-instruct", prompt=f"Memo {nonce} for {EMAIL}:")

    assert result.object == "text_completion"
    assert result.choices[0].text == CANNED_REPLY
    seen = stub.last_for(nonce)
    assert seen["path"] == "/v1/completions"
    if protecting:
        assert EMAIL not in seen["body"]


# ---- the tokenizing gateway: tokens go up, the caller gets its own values back


@pytest.fixture
def tokenize_client(tokenize_gateway_url):
    return make_client(tokenize_gateway_url)


def test_tokens_reach_the_upstream_and_come_back_as_the_original(tokenize_client, stub, nonce):
    completion = tokenize_client.chat.completions.create(
        model="gpt-4o-mini",
        messages=ask(f"Case {nonce}: contact {EMAIL} about it."),
        extra_headers={"x-stub-echo": "1"},
    )
    seen = stub.last_for(nonce)
    assert EMAIL not in seen["body"]
    assert "[TOKEN:" in seen["body"]
    # detokenizeResponses: the echoed token is restored for this request's caller only.
    assert completion.choices[0].message.content == f"Case {nonce}: contact {EMAIL} about it."


def test_an_inspected_stream_still_parses_and_is_protected(inspect_gateway_url, stub, nonce):
    stream = make_client(inspect_gateway_url).chat.completions.create(
        model="gpt-4o-mini",
        messages=ask(b64(f"Ref {nonce}: mail {UPSTREAM_EMAIL} now please")),
        extra_headers={"x-stub-echo": "b64"},
        stream=True,
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)

    assert text.startswith(f"Ref {nonce}: mail ")
    assert UPSTREAM_EMAIL not in text
    assert stub.last()["headers"].get("x-stub-echo") == "b64"
