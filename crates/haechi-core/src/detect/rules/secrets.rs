//! Credential rules: provider API keys (`api_key`) and tokens, private keys and assigned
//! secrets (`secret`). Both types are hard-block. Every sample is a low-entropy fabrication
//! padded to the provider's shape (`EXAMPLE…`, zeros) — never a live credential.

use super::{before_assignment_key, Check, Emit, Gate, Rule, Samples};
use crate::detect::context;
use crate::detect::placeholder::{
    has_masked_tail, has_x_mask, is_placeholder_value, is_public_value, is_template_or_mask,
};

/// A prefixed key whose body is a masking run (`sk_live_xxxx…`) is documentation.
pub(super) fn not_masked(m: &[u8]) -> bool {
    !has_masked_tail(m)
}

/// `scheme://user:password@host`: the password must be a value, not a template slot, an
/// environment reference, a mask or the word `password`.
fn url_password_value(m: &[u8]) -> bool {
    let password = &m[crate::detect::secret_span::url_password(m)];
    !is_placeholder_value(password)
        && !is_template_or_mask(password)
        && !PLACEHOLDER_PASSWORDS
            .iter()
            .any(|p| password.eq_ignore_ascii_case(p.as_bytes()))
}

/// Passwords that stand for "put yours here" in connection-string examples.
const PLACEHOLDER_PASSWORDS: &[&str] = &[
    "password", "pass", "passwd", "pwd", "secret", "changeme", "example", "xxx",
];

/// `key = value` in its text: a real value, under a name that is not a pagination cursor or
/// the like (`nextToken`, `page_token`).
fn assignment(text: &[u8], start: usize, end: usize) -> bool {
    assigned_value(&text[start..end]) && !context::names_a_non_secret_token(text, start)
}

/// `key = value`: the assigned value (the trailing run) must not be a placeholder.
fn assigned_value(m: &[u8]) -> bool {
    let value = crate::detect::secret_span::assigned_value(m);
    !is_placeholder_value(value) && !has_masked_tail(value) && !is_public_value(value)
}

/// Stripe-style `sk_`/`rk_`/`pk_` keys, except Stripe publishable keys (`pk_live_`,
/// `pk_test_`): those ship in every web page's JavaScript, public by design.
fn not_publishable(m: &[u8]) -> bool {
    not_masked(m) && !is_public_value(m)
}

/// Twilio SIDs: only an `x` mask is a placeholder. The reference's corpus counts the all-zero
/// `AC000…` SID of Twilio's documentation as a key, and we keep its recall.
fn twilio_sid(m: &[u8]) -> bool {
    !has_x_mask(m)
}

pub(super) const fn secret(
    id: &'static str,
    detection_type: &'static str,
    pattern: &'static str,
    confidence: f64,
    gate: Gate,
    samples: Samples,
) -> Rule {
    Rule {
        id,
        detection_type,
        pattern,
        confidence,
        hard_block: true,
        direction: None,
        before: None,
        after: None,
        check: Check::Valid(not_masked),
        emit: Emit::Whole,
        gate,
        samples,
    }
}

pub(super) const RULES: &[Rule] = &[
    secret(
        "openai-like-key",
        "api_key",
        r"\b(?:sk|rk|pk)_[A-Za-z0-9_-]{24,}\b",
        0.95,
        Gate::anchors(&["sk_", "rk_", "pk_"]),
        Samples {
            matches: &[
                "sk_demo_1234567890abcdef1234567890abcdef",
                "publishable pk_demo_0123456789abcdef0123456789",
                "sk_live_EXAMPLE-DO-NOT-USE-EXAMPLE0",
            ],
            ignores: &[
                ("sk_live_short", "body shorter than 24"),
                ("sku_98 and pk_3", "product codes"),
                ("sk_live_xxxxxxxxxxxxxxxxxxxxxxxx", "a masked documentation placeholder"),
                ("pk_live_EXAMPLE0EXAMPLE1EXAMPLE2EX", "a Stripe publishable key: public by design"),
                ("pk_test_EXAMPLE0EXAMPLE1EXAMPLE2EX", "a Stripe publishable test key"),
            ],
        },
    )
    .with_check(Check::Valid(not_publishable)),
    secret(
        "aws-access-key-id",
        "api_key",
        r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
        0.95,
        Gate::anchors(&["AKIA", "ASIA"]),
        Samples {
            matches: &["AKIAIOSFODNN7EXAMPLE", "key ASIAEXAMPLE0EXAMPLE0 in use"],
            ignores: &[
                ("AKIA1234 and AKIANOTLONGENOUGH", "fewer than 16 characters after the prefix"),
                ("AKIAIOSFODNN7EXAMPLEX", "17 characters: not a key id"),
                ("AKIAXXXXXXXXXXXXXXXX", "a masked documentation placeholder"),
            ],
        },
    ),
    secret(
        "github-token",
        "secret",
        r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b",
        0.95,
        Gate::anchors(&["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]),
        Samples {
            matches: &[
                "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
                "gho_EXAMPLE0EXAMPLE0EXAMPLE0EXAMPLE0EXAM",
            ],
            ignores: &[
                ("see ghp_short in the notes", "body shorter than 36"),
                ("ghx_0123456789abcdefghijklmnopqrstuvwxyzAB", "ghx_ is not a GitHub token kind"),
            ],
        },
    ),
    secret(
        "github-fine-grained-pat",
        "secret",
        r"\bgithub_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}\b",
        0.95,
        Gate::anchors(&["github_pat_"]),
        Samples {
            matches: &[
                "github_pat_11EXAMPLE0EXAMPLE0EXAM_EXAMPLEexample0123456789EXAMPLEexample0123456789EXAMPLEexam",
            ],
            ignores: &[
                ("github_pat_11EXAMPLE0EXAMPLE0EXAM_short", "second segment is not 59 characters"),
                ("github_pat_ appears in the docs", "prefix only"),
            ],
        },
    ),
    secret(
        "google-api-key",
        "api_key",
        r"\bAIza[0-9A-Za-z_-]{35}\b",
        0.9,
        Gate::anchors(&["AIza"]),
        Samples {
            matches: &["key AIzaSyA1234567890abcdefghijklmnopqrstuv here"],
            ignores: &[("AIzaShort is not a key", "body is not 35 characters")],
        },
    ),
    secret(
        "slack-token",
        "secret",
        r"\bxox[baprs]-[0-9A-Za-z-]{10,}\b",
        0.9,
        Gate::anchors(&["xox"]),
        Samples {
            matches: &["xoxb-PLACEHOLDER-PLACEHOLDER-notARealSlackTokenForTests"],
            ignores: &[
                ("xoxb-short", "body shorter than 10"),
                ("xoxe-unknownprefix", "xoxe is not a Slack token kind"),
            ],
        },
    ),
    secret(
        "anthropic-api-key",
        "secret",
        r"\bsk-ant-[A-Za-z0-9_-]{16,}\b",
        0.95,
        Gate::anchors(&["sk-"]),
        Samples {
            matches: &["sk-ant-api03-EXAMPLE0123456789abcdefABCDEF"],
            ignores: &[("the string sk-ant-tiny here", "body shorter than 16")],
        },
    ),
    secret(
        "openai-api-key",
        "secret",
        r"\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}\b",
        0.9,
        Gate::anchors(&["sk-"]),
        Samples {
            matches: &["sk-EXAMPLEEXAMPLEEXAMPLEEXAMPLE0000", "sk-proj-EXAMPLEEXAMPLE00000000000000000"],
            ignores: &[
                ("the slug sk-tooShort here", "body shorter than 20"),
                ("task-EXAMPLEEXAMPLEEXAMPLE00", "sk- inside a longer word"),
            ],
        },
    ),
    secret(
        "google-oauth-client-secret",
        "secret",
        r"\bGOCSPX-[A-Za-z0-9_-]{28}\b",
        0.95,
        Gate::anchors(&["GOCSPX-"]),
        Samples {
            matches: &["GOCSPX-EXAMPLEEXAMPLEEXAMPLE0000000"],
            ignores: &[("token GOCSPX-tooShortBody here", "body is not 28 characters")],
        },
    ),
    secret(
        "sendgrid-api-key",
        "api_key",
        r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b",
        0.95,
        Gate::anchors(&["SG."]),
        Samples {
            matches: &["SG.EXAMPLEEXAMPLE00000000.EXAMPLEEXAMPLEEXAMPLE0000000000000000000000"],
            ignores: &[("value SG.EXAMPLEEXAMPLE00000000.SHORT here", "second segment is not 43")],
        },
    ),
    secret(
        "twilio-sid",
        "api_key",
        r"\b(?:AC|SK)[0-9a-fA-F]{32}\b",
        0.9,
        Gate::anchors(&["AC", "SK"]),
        Samples {
            matches: &["AC00000000000000000000000000000000", "SK0123456789abcdef0123456789abcdef"],
            ignores: &[
                ("ACzzzzzzzz000000000000000000000000", "non-hex body"),
                ("AC0000000000", "too short"),
            ],
        },
    )
    .with_check(Check::Valid(twilio_sid)),
    secret(
        "npm-token",
        "secret",
        r"\bnpm_[A-Za-z0-9]{36}\b",
        0.95,
        Gate::anchors(&["npm_"]),
        Samples {
            matches: &["npm_EXAMPLEEXAMPLEEXAMPLE000000000000000"],
            ignores: &[("marker npm_short here", "body is not 36 characters")],
        },
    ),
    secret(
        "jwt",
        "secret",
        r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\b",
        0.9,
        Gate::anchors(&["eyJ"]),
        Samples {
            matches: &[
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjMifQ.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            ],
            ignores: &[
                ("build foo.bar.baz and abc.def.ghi", "dotted triplets without a JSON header"),
                ("eyJhbGciOiJIUzI1NiJ9 alone", "a header without payload and signature"),
            ],
        },
    ),
    secret(
        "pem-private-key",
        "secret",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----",
        0.98,
        Gate::anchors(&["-----BEGIN "]),
        Samples {
            matches: &[
                "-----BEGIN RSA PRIVATE KEY----- MIIBOg... -----END RSA PRIVATE KEY-----",
                "-----BEGIN PRIVATE KEY-----",
                "-----BEGIN OPENSSH PRIVATE KEY-----",
            ],
            ignores: &[
                ("-----BEGIN PUBLIC KEY-----", "a public key is not a secret"),
                ("rotate the private key before the deploy", "prose without armor"),
            ],
        },
    ),
    Rule {
        id: "bearer-token",
        detection_type: "secret",
        pattern: r"\bBearer\s+[A-Za-z0-9._~+/-]{16,}\b",
        confidence: 0.9,
        hard_block: true,
        direction: None,
        before: None,
        after: None,
        check: Check::InContext(context::bearer),
        emit: Emit::Whole,
        gate: Gate::anchors(&["Bearer"]),
        samples: Samples {
            matches: &[
                "Authorization: Bearer ZmFrZS10b2tlbi1mb3ItdGVzdGluZy0xMjM0NTY3OA",
                "Bearer 0123456789abcdef",
                "curl -H 'Authorization: Bearer 0123456789abcdef'",
            ],
            ignores: &[
                ("Bearer short", "credential shorter than 16"),
                ("Bearer YOUR_ACCESS_TOKEN_HERE", "a documentation placeholder"),
                ("bearer ZmFrZS10b2tlbi1mb3ItdGVzdGluZy0x", "the scheme is matched case-sensitively"),
                (
                    "Bearer 0123456789abcdef is mentioned in this prose paragraph",
                    "prose: no header, not a whole value, and a sequential run",
                ),
            ],
        },
    },
    Rule {
        id: "secret-url-password",
        detection_type: "secret",
        // Any scheme: database, broker and HTTP URLs carry credentials the same way. The user
        // part may be empty (`redis://:pass@host`); the password holds no `/?#@` or blank.
        pattern: r#"(?i)\b[a-z][a-z0-9+.-]{1,19}://[^\s:/?#@'"<>]{0,128}:[^\s/?#@'"<>]{1,256}@[a-z0-9\[_-]"#,
        confidence: 0.9,
        hard_block: true,
        direction: None,
        before: None,
        after: None,
        check: Check::Valid(url_password_value),
        emit: Emit::UrlPassword,
        // The longest scheme before its `://`.
        gate: Gate {
            needs_assign: true,
            ..Gate::anchors(&["://"]).lead(20)
        },
        samples: Samples {
            matches: &[
                "DATABASE_URL=postgres://app:Zq81fLw0PxT4@db.internal:5432/app",
                "mongodb+srv://svc:EXAMPLE0example1@cluster0.example.mongodb.net/test",
                "redis://:s3cr3tEXAMPLE@cache:6379/0",
                "amqp://guest:EXAMPLEpw9@rabbit/vhost",
                "https://deploy:Zk93tEXAMPLEx7@git.example.com/org/repo.git",
            ],
            ignores: &[
                ("postgres://app@db:5432/app", "no password in the userinfo"),
                ("https://example.com:8443/path", "a port, not a password"),
                ("postgres://user:${DB_PASSWORD}@db/app", "an environment reference"),
                ("mysql://root:password@localhost/db", "the word password as a placeholder"),
                ("postgres://user:<password>@host/db", "a template slot"),
                ("https://user:****@host/", "a masked password"),
                ("git@github.com:org/repo.git", "scp-style git remote, no scheme"),
            ],
        },
    },
    Rule {
        id: "assignment-secret",
        detection_type: "secret",
        pattern: concat!(
            r"(?i)(?:api[_-]?key|api[_-]?secret|secret[_-]?key|secret|",
            r"aws[_-]?secret[_-]?access[_-]?key|client[_-]?secret|private[_-]?key|",
            r"access[_-]?token|refresh[_-]?token|auth[_-]?token|accountkey|token|password)",
            r#"['"]?\s*[:=]\s*['"]?[A-Za-z0-9._~+/-]{12,}"#,
        ),
        confidence: 0.85,
        hard_block: true,
        direction: None,
        before: Some(before_assignment_key),
        after: None,
        check: Check::InContext(assignment),
        emit: Emit::AssignedValue,
        // The longest key before its first anchor is `private_key` / `refresh-token`: 8.
        gate: Gate {
            needs_assign: true,
            ..Gate::anchors_any_case(&["key", "secret", "token", "password"]).lead(8)
        },
        samples: Samples {
            matches: &[
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "client_secret: 0123456789abcdef0123",
                "DB_PASSWORD=hunter2hunter2x9",
                r#"{"password": "s3cr3t-Passw0rd"}"#,
                r#"{"dtApiToken": "Zq81fLw0PxT4mR2sKd"}"#,
                "AccountKey=EXAMPLEEXAMPLEEXAMPLEEXAMPLE000000==",
                "auth_token = 0123456789abcdef0123456789abcdef",
            ],
            ignores: &[
                ("api_key=YOUR_API_KEY", "a documentation placeholder"),
                ("password: changeme123456", "a placeholder word with a trivial digit run"),
                ("token=xxxxxxxxxxxxxxxx", "a masking run"),
                ("api_key=${API_KEY}", "an environment reference, not a value"),
                ("password=<password>", "a template slot"),
                ("xtoken=abcdefghijklmnop1", "the key is part of a longer name"),
                ("tokens: abcdefghijklmnop", "not one of the credential key names"),
                ("auth_token = 00000000000000000000000000000000", "one repeated character"),
                (r#"{"nextToken": "Zq81fLw0PxT4mR2sKd"}"#, "a pagination cursor"),
                ("page_token=Zq81fLw0PxT4mR2sKd", "a pagination cursor"),
                ("HF_TOKEN=YOUR_HF_TOKEN", "your + words: a placeholder whatever the vendor"),
                ("accessToken = 'pk.eyJ1IjoiZXhhbXBsZSJ9.EXAMPLE0example1'", "a Mapbox public token"),
            ],
        },
    },
];
