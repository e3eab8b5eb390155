"""Values and helpers shared by the end-to-end tests (synthetic data only)."""

import base64
import json
import urllib.request

# Synthetic values only. scripts/e2e.sh greps audit logs and gateway logs for these.
EMAIL = "jane.doe@example.com"
UPSTREAM_EMAIL = "bob.upstream@example.com"
CARD = "4111 1111 1111 1111"
PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
    "-----END PRIVATE KEY-----"
)
CANNED_REPLY = (
    "Hello from the stub upstream. This canned completion carries no personal data, "
    "so a protecting gateway can pass it through unchanged."
)


def b64(text: str) -> str:
    """What `x-stub-echo: b64` decodes: lets the 'model' say what the request never carried."""
    return base64.b64encode(text.encode()).decode()


class Stub:
    """The recording stub upstream: what the gateway actually forwarded."""

    def __init__(self, url: str):
        self.url = url

    def last(self) -> dict:
        with urllib.request.urlopen(self.url + "/__stub/last", timeout=10) as response:
            return json.load(response)

    def last_for(self, nonce: str) -> dict:
        """The last forwarded request, checked to be the one that carried `nonce`."""
        seen = self.last()
        assert nonce in seen["body"], "the stub's last request is not this test's request"
        return seen
