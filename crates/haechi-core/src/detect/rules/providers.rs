//! Provider credentials recognised by a literal prefix (`glpat-`, `dop_v1_`, `hf_`) or by a
//! URL form (chat webhooks). Every entry is type `secret` (hard-block). The formats are public
//! facts (the gitleaks rule set, the providers' own documentation); the patterns, the bounds
//! and the samples are ours. Every sample is a low-entropy fabrication padded to the
//! provider's shape (`EXAMPLE0EXAMPLE1…`, `0123456789abcdef…`) — never a live credential.
//!
//! Ties: these rules come before `secrets::RULES`, so where a broader rule matches the very
//! same span (OpenAI `sk-…` over OpenRouter `sk-or-v1-…`, `sk-ant-…` over an Anthropic admin
//! key, `key = value` over a prefixed value) the provider's own id is reported.
//!
//! Gates. Most formats are token rules ([`Gate::token`]): their prefixes are looked up in a
//! table at the start of each long enough token run, so a hundred formats add no literal
//! automaton pass. `min_digits` says that a leaf without digits cannot hold the format (the
//! prefix holds one, or the body is hex, a UUID or long enough that a generated value always
//! does); the few formats whose body may hold no digit (`hf_`, GitLab's) are found from the
//! `_` or `-` of their prefix. Formats without a usable prefix keep an anchor literal
//! (Terraform's `.atlasv1.`, Mailchimp's `-us`, Telegram's `:A`, the webhooks' `://`) or run
//! over alphanumeric runs.
//!
//! Public-by-design values are deliberately absent: Stripe / Lob publishable keys, Mapbox
//! `pk.`, Mailgun `pubkey-`, Flutterwave `FLWPUBK`, Supabase `sb_publishable_`, the New Relic
//! browser key `NRJS-` (it ships inside every page's agent snippet).

use super::secrets::{not_masked, secret};
use super::{after_not_word_minus, next, prev, Check, Emit, Gate, Rule, Samples, Scope};

fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

fn is_url_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'='
}

/// Not before `[A-Za-z0-9+/=]`: the end of a base64 body (with its padding).
fn after_not_base64(text: &[u8], at: usize) -> bool {
    !next(text, at).is_some_and(is_base64)
}

/// Not before `[\w=-]`, nor before a `.` that continues such a run: the end of a body that may
/// hold dots (`pscale_tkn_…`, `tfp_…`) still ends before a full stop closing the sentence.
fn after_token_end(text: &[u8], at: usize) -> bool {
    match next(text, at) {
        Some(b) if is_url_token(b) => false,
        Some(b'.') => !next(text, at + 1).is_some_and(|b| is_url_token(b) || b == b'.'),
        _ => true,
    }
}

fn is_azure_secret_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'~' | b'.' | b'-')
}

/// An Azure client secret starts a value: not after its own alphabet, nor after `+` or `/`
/// (the middle of a path or of base64 text).
fn before_azure_secret(text: &[u8], at: usize) -> bool {
    !prev(text, at).is_some_and(|b| is_azure_secret_char(b) || b == b'+' || b == b'/')
}

/// Not before `[\w~.-]`: the secret does not go on.
fn after_azure_secret(text: &[u8], at: usize) -> bool {
    !next(text, at).is_some_and(is_azure_secret_char)
}

/// Not before `[\w+/=-]`: the end of a body of either base64 alphabet.
fn after_not_base64_url(text: &[u8], at: usize) -> bool {
    !next(text, at).is_some_and(|b| is_base64(b) || b == b'_' || b == b'-')
}

/// Not after a digit: a digit run is not the tail of a longer number (letters may precede
/// it, as in `…/bot123456:AA…`).
fn before_not_digit(text: &[u8], at: usize) -> bool {
    !prev(text, at).is_some_and(|b| b.is_ascii_digit())
}

/// Not before `[A-Za-z0-9%]` (a URL-encoded Twitter bearer body).
fn after_not_alnum_percent(text: &[u8], at: usize) -> bool {
    !next(text, at).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'%')
}

/// For prefixes that also occur inside base64 text (`EAAA`, `ABSK`, `cmVmd`): a run of one
/// byte is zero-filled binary (or a `0000…` placeholder), never a random key body.
fn not_filler(m: &[u8]) -> bool {
    let mut run = 1;
    for w in m.windows(2) {
        run = if w[0] == w[1] { run + 1 } else { 1 };
        if run >= 12 {
            return false;
        }
    }
    not_masked(m)
}

/// A Twitter app-only bearer token: 21 `A`s, then a URL-encoded base64 body. The body must
/// carry a `%` escape (base64 text never does) and real variety (`AAAA…%2FAAAA…` is the
/// documentation placeholder).
fn twitter_bearer(m: &[u8]) -> bool {
    let body = m.get(21..).unwrap_or_default();
    let mut seen = [false; 256];
    for &b in body {
        seen[usize::from(b)] = true;
    }
    let distinct = seen.iter().filter(|&&s| s).count();
    body.contains(&b'%') && distinct >= 10 && not_masked(m)
}

pub(super) const RULES: &[Rule] = &[
    // ---- AI model providers ----------------------------------------------------------------
    // Hugging Face user access token: `hf_` and 34 letters.
    secret(
        "secret-huggingface",
        "secret",
        r"\bhf_[A-Za-z]{34}\b",
        0.9,
        Gate::token(&["hf_"], 0),
        Samples {
            matches: &["HF_TOKEN=hf_EXAMPLEexampleEXAMPLEexampleEXAMPL", "token hf_EXAMPLEexampleEXAMPLEexampleEXAMPL set"],
            ignores: &[
                ("hf_EXAMPLEexampleEXAMPLEexampleEXAMP", "33 letters: one short"),
                ("hf_EXAMPLE0example1EXAMPLE2example3EX", "digits are not in the alphabet"),
                ("hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "a masked documentation placeholder"),
                ("pushf_EXAMPLEexampleEXAMPLEexampleEXAMPL", "the prefix inside a longer word"),
            ],
        },
    ),
    // Hugging Face organization API token: `api_org_` and 34 letters.
    secret(
        "secret-huggingface-org",
        "secret",
        r"\bapi_org_[A-Za-z]{34}\b",
        0.95,
        Gate::token(&["api_org_"], 0),
        Samples {
            matches: &["api_org_EXAMPLEexampleEXAMPLEexampleEXAMPL"],
            ignores: &[
                ("api_org_EXAMPLEexampleEXAMPLEexampleEXAMPLE", "35 letters: too long"),
                ("my_api_org_EXAMPLEexampleEXAMPLEexampleEXAMPL", "the prefix inside a longer name"),
            ],
        },
    ),
    // Groq: `gsk_` and 52 alphanumerics.
    secret(
        "secret-groq",
        "secret",
        r"\bgsk_[A-Za-z0-9]{52}\b",
        0.95,
        Gate::token(&["gsk_"], 1),
        Samples {
            matches: &["GROQ_API_KEY=gsk_EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAM"],
            ignores: &[
                ("gsk_EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXA", "51 characters: one short"),
                ("gsk_EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMP", "53 characters: too long"),
            ],
        },
    ),
    // xAI: `xai-` and 80 alphanumerics.
    secret(
        "secret-xai",
        "secret",
        r"\bxai-[A-Za-z0-9]{80}\b",
        0.95,
        Gate::token(&["xai-"], 1),
        Samples {
            matches: &["xai-EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7EXAMPLE8example9"],
            ignores: &[
                ("xai-EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6exam", "body shorter than 80"),
                ("xai-grok-beta-model-name", "a model name, not a key"),
            ],
        },
    ),
    // Replicate: `r8_` and 37 alphanumerics.
    secret(
        "secret-replicate",
        "secret",
        r"\br8_[A-Za-z0-9]{37}\b",
        0.9,
        Gate::token(&["r8_"], 1),
        Samples {
            matches: &["REPLICATE_API_TOKEN=r8_EXAMPLE0example1EXAMPLE2example3EXAMP"],
            ignores: &[
                ("r8_EXAMPLE0example1EXAMPLE2example3EXAM", "36 characters: one short"),
                ("ver8_EXAMPLE0example1EXAMPLE2example3EXAMP", "the prefix inside a longer word"),
            ],
        },
    ),
    // Perplexity: `pplx-` and 48 alphanumerics.
    secret(
        "secret-perplexity",
        "secret",
        r"\bpplx-[A-Za-z0-9]{48}\b",
        0.95,
        Gate::token(&["pplx-"], 1),
        Samples {
            matches: &["pplx-EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5"],
            ignores: &[
                ("pplx-EXAMPLE0example1EXAMPLE2example3EXAMPLE4example", "47 characters: one short"),
                ("pplx-EXAMPLE0example1EXAMPLE2example3EXAMPLE4-EXAMPLE", "a dash inside the body"),
            ],
        },
    ),
    // OpenRouter: `sk-or-v1-` and 64 hex (`openai-api-key` matches the same span; this id,
    // coming first, is the one reported).
    secret(
        "secret-openrouter",
        "secret",
        r"\bsk-or-v1-[0-9a-f]{64}\b",
        0.95,
        Gate::token(&["sk-or-v1-"], 1),
        Samples {
            matches: &["sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
            ignores: &[
                ("sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", "63 hex: one short"),
                ("sk-or-v1-EXAMPLE0EXAMPLE1EXAMPLE2EXAMPLE3EXAMPLE4EXAMPLE5EXAMPLE6EXAMPLE7", "upper-case letters are not hex here"),
            ],
        },
    ),
    // LangSmith: `lsv2_pt_` (personal) or `lsv2_sk_` (service), 32 hex, `_`, 10 hex.
    secret(
        "secret-langsmith",
        "secret",
        r"\blsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}\b",
        0.95,
        Gate::token(&["lsv2_"], 1),
        Samples {
            matches: &["lsv2_pt_0123456789abcdef0123456789abcdef_0123456789", "lsv2_sk_0123456789abcdef0123456789abcdef_0123456789"],
            ignores: &[
                ("lsv2_xx_0123456789abcdef0123456789abcdef_0123456789", "an unknown token kind"),
                ("lsv2_pt_0123456789abcdef0123456789abcdef", "the checksum segment is missing"),
            ],
        },
    ),
    // Anthropic Admin API key: `sk-ant-admin01-`, 93 URL-safe characters, `AA` (reported
    // under this id rather than `anthropic-api-key`).
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-anthropic-admin",
            "secret",
            r"\bsk-ant-admin01-[\w-]{93}AA",
            0.95,
            Gate::token(&["sk-ant-admin01-"], 2),
            Samples {
                matches: &["sk-ant-admin01-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAAA"],
                ignores: &[
                    ("sk-ant-admin01-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAAB", "does not end in AA"),
                    ("sk-ant-admin01-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0AA", "body shorter than 93"),
                ],
            },
        )
    },
    // ---- GitLab ----------------------------------------------------------------------------
    // Personal access token: `glpat-` and 20 URL-safe characters, or the routable form (a
    // longer body, `.`, a two-character version and a seven-character suffix).
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-gitlab-pat",
            "secret",
            r"\bglpat-(?:[\w-]{27,300}\.[0-9a-z]{9}|[\w-]{20})",
            0.95,
            Gate::token(&["glpat-"], 0),
            Samples {
                matches: &[
                    "glpat-EXAMPLE0-example1_EX",
                    "PRIVATE-TOKEN: glpat-EXAMPLE0-example1_EXAMPLE0-example1_EXAM.01example",
                ],
                ignores: &[
                    ("glpat-EXAMPLE0-example1_E", "19 characters: one short"),
                    ("glpat-EXAMPLE0-example1_EXAMPL", "too long for the classic form, no routable suffix"),
                ],
            },
        )
    },
    // Deploy token: `gldt-` and 20 URL-safe characters.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-gitlab-deploy",
            "secret",
            r"\bgldt-[\w-]{20}",
            0.95,
            Gate::token(&["gldt-"], 0),
            Samples {
                matches: &["gldt-EXAMPLE0-example1_EX"],
                ignores: &[
                    ("gldt-EXAMPLE0-example1_E", "19 characters: one short"),
                    ("gldt-EXAMPLE0-example1_EXA", "21 characters: too long"),
                ],
            },
        )
    },
    // Runner authentication token `glrt-` (classic or routable `glrt-t1_…`), and the runner
    // registration token `GR1348941…`.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-gitlab-runner",
            "secret",
            r"\b(?:glrt-(?:t\d_[\w-]{27,300}\.[0-9a-z]{9}|[\w-]{20})|GR1348941[\w-]{20})",
            0.95,
            Gate::token(&["glrt-", "GR1348941"], 0),
            Samples {
                matches: &[
                    "glrt-EXAMPLE0-example1_EX",
                    "glrt-t1_EXAMPLE0-example1_EXAMPLE0-exa.01example",
                    "GR1348941EXAMPLE0-example1_EX",
                ],
                ignores: &[
                    ("glrt-EXAMPLE0-exa", "body too short"),
                    ("GR1348941EXAMPLE0-example1_EXAMPLE0-exa", "registration token body too long"),
                ],
            },
        )
    },
    // Pipeline trigger token: `glptt-` and 40 hex.
    secret(
        "secret-gitlab-pipeline-trigger",
        "secret",
        r"\bglptt-[0-9a-f]{40}\b",
        0.95,
        Gate::token(&["glptt-"], 1),
        Samples {
            matches: &["glptt-0123456789abcdef0123456789abcdef01234567"],
            ignores: &[
                ("glptt-0123456789abcdef0123456789abcdef0123456", "39 hex: one short"),
                ("glptt-EXAMPLE0EXAMPLE1EXAMPLE2EXAMPLE3EXAMPLE4", "not hex"),
            ],
        },
    ),
    // Feed token: `glft-` and 20 URL-safe characters.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-gitlab-feed",
            "secret",
            r"\bglft-[\w-]{20}",
            0.95,
            Gate::token(&["glft-"], 0),
            Samples {
                matches: &["feed_token=glft-EXAMPLE0-example1_EX"],
                ignores: &[
                    ("glft-EXAMPLE0-e", "body too short"),
                    ("glft-EXAMPLE0-example1_EXAMPLE0-exa", "body too long"),
                ],
            },
        )
    },
    // CI/CD job token: `glcbt-`, a 1–5 character partition, `_`, 20 URL-safe characters.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-gitlab-ci-job",
            "secret",
            r"\bglcbt-[0-9A-Za-z]{1,5}_[\w-]{20}",
            0.95,
            Gate::token(&["glcbt-"], 0),
            Samples {
                matches: &["glcbt-64_EXAMPLE0-example1_EX"],
                ignores: &[
                    ("glcbt-64_EXAMPLE0-exa", "body too short"),
                    ("glcbt-EXAMPLE0-example1_EX", "the partition segment is missing"),
                ],
            },
        )
    },
    // Incoming mail token: `glimt-` and 25 URL-safe characters.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-gitlab-incoming-mail",
            "secret",
            r"\bglimt-[\w-]{25}",
            0.95,
            Gate::token(&["glimt-"], 0),
            Samples {
                matches: &["glimt-EXAMPLE0-example1_EXAMPLE"],
                ignores: &[
                    ("glimt-EXAMPLE0-example1_EXAMPL", "24 characters: one short"),
                    ("glimt-EXAMPLE0-example1_EXAMPLE0", "26 characters: too long"),
                ],
            },
        )
    },
    // Kubernetes agent token: `glagent-` and 50 URL-safe characters.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-gitlab-agent",
            "secret",
            r"\bglagent-[\w-]{50}",
            0.95,
            Gate::token(&["glagent-"], 1),
            Samples {
                matches: &["glagent-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-examp"],
                ignores: &[
                    ("glagent-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-exam", "49 characters: one short"),
                    ("glagent-config-file", "a file name, not a token"),
                ],
            },
        )
    },
    // OAuth application secret: `gloas-` and 64 URL-safe characters.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-gitlab-oauth-secret",
            "secret",
            r"\bgloas-[\w-]{64}",
            0.95,
            Gate::token(&["gloas-"], 1),
            Samples {
                matches: &["gloas-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-e"],
                ignores: &[
                    ("gloas-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-", "63 characters: one short"),
                    ("gloas-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-ex", "65 characters: too long"),
                ],
            },
        )
    },
    // SCIM token: `glsoat-` and 20 URL-safe characters.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-gitlab-scim",
            "secret",
            r"\bglsoat-[\w-]{20}",
            0.95,
            Gate::token(&["glsoat-"], 0),
            Samples {
                matches: &["glsoat-EXAMPLE0-example1_EX"],
                ignores: &[
                    ("glsoat-EXAMPLE0-example1_E", "19 characters: one short"),
                    ("glsoat-EXAMPLE0-example1_EXA", "21 characters: too long"),
                ],
            },
        )
    },
    // Feature flags client token: `glffct-` and 20 URL-safe characters.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-gitlab-feature-flags",
            "secret",
            r"\bglffct-[\w-]{20}",
            0.95,
            Gate::token(&["glffct-"], 0),
            Samples {
                matches: &["glffct-EXAMPLE0-example1_EX"],
                ignores: &[
                    ("glffct-EXAMPLE0-example1_E", "19 characters: one short"),
                    ("glffct-EXAMPLE0-example1_EXA", "21 characters: too long"),
                ],
            },
        )
    },
    // Session cookie `_gitlab_session=` and 32 lower-case alphanumerics; only the value is
    // reported (the cookie name stays readable).
    Rule {
        emit: Emit::AssignedValue,
        ..secret(
            "secret-gitlab-session",
            "secret",
            r"\b_gitlab_session=[0-9a-z]{32}\b",
            0.95,
            Gate { min_digits: 1, ..Gate::anchors(&["_gitlab_session="]) },
            Samples {
                matches: &["Cookie: _gitlab_session=example0example1example2example3"],
                ignores: &[
                    ("_gitlab_session=example0example1exam", "value too short"),
                    ("_gitlab_session=EXAMPLE0EXAMPLE1EXAMPLE2EXAMPLE3", "upper-case value"),
                ],
            },
        )
    },
    // ---- cloud and developer platforms -----------------------------------------------------
    // DigitalOcean personal (`dop_v1_`), OAuth (`doo_v1_`) and refresh (`dor_v1_`) tokens:
    // 64 hex. Every kind holds `_v1_` three bytes in.
    secret(
        "secret-digitalocean",
        "secret",
        r"\bdo[opr]_v1_[0-9a-f]{64}\b",
        0.95,
        Gate::token(&["dop_v1_", "doo_v1_", "dor_v1_"], 1),
        Samples {
            matches: &["dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "doo_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "dor_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
            ignores: &[
                ("dop_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", "63 hex: one short"),
                ("dox_v1_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "an unknown token kind"),
            ],
        },
    ),
    // Databricks personal access token: `dapi` and 32 hex (an optional `-<digit>` suffix is
    // left readable). All alphanumeric: scoped to alphanumeric runs, no anchor.
    secret(
        "secret-databricks",
        "secret",
        r"\bdapi[0-9a-f]{32}\b",
        0.9,
        Gate::scoped(Scope::Alnum, 4, 1, &[]).letters(4),
        Samples {
            matches: &["dapi0123456789abcdef0123456789abcdef", "dapi0123456789abcdef0123456789abcdef-2"],
            ignores: &[
                ("dapi0123456789abcdef0123456789abcde", "31 hex: one short"),
                ("dapiversion0123456789abcdef0123456789abcdef", "not hex after the prefix"),
            ],
        },
    ),
    // Doppler personal token: `dp.pt.` and 43 alphanumerics.
    secret(
        "secret-doppler",
        "secret",
        r"\bdp\.pt\.[A-Za-z0-9]{43}\b",
        0.95,
        Gate::token(&["dp.pt."], 1),
        Samples {
            matches: &["DOPPLER_TOKEN=dp.pt.EXAMPLE0example1EXAMPLE2example3EXAMPLE4exa"],
            ignores: &[
                ("dp.pt.EXAMPLE0example1EXAMPLE2example3EXAMPLE4ex", "42 characters: one short"),
                ("dp.pt.EXAMPLE0example1EXAMPLE2example3EXAMPLE4exam", "44 characters: too long"),
            ],
        },
    ),
    // Linear API key: `lin_api_` and 40 alphanumerics.
    secret(
        "secret-linear",
        "secret",
        r"\blin_api_[A-Za-z0-9]{40}\b",
        0.95,
        Gate::token(&["lin_api_"], 0),
        Samples {
            matches: &["lin_api_EXAMPLE0example1EXAMPLE2example3EXAMPLE4"],
            ignores: &[
                ("lin_api_EXAMPLE0example1EXAMPLE2example3EXAMPLE", "39 characters: one short"),
                ("lin_api_EXAMPLE0example1EXAMPLE2example3EXAMPLE4e", "41 characters: too long"),
            ],
        },
    ),
    // PyPI upload token: `pypi-` and a macaroon that always starts `AgEIcHlwaS5vcmc`.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-pypi",
            "secret",
            r"\bpypi-AgEIcHlwaS5vcmc[\w-]{50,1000}",
            0.95,
            Gate::token(&["pypi-AgEIcHlwaS5vcmc"], 1),
            Samples {
                matches: &["password = pypi-AgEIcHlwaS5vcmcEXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0"],
                ignores: &[
                    ("pypi-AgEIcHlwaS5vcmcEXAMPLE0-example1_EXAMPLE0-exa", "body shorter than 50"),
                    ("pypi-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0", "not a PyPI macaroon"),
                ],
            },
        )
    },
    // Postman API key: `PMAK-`, 24 hex, `-`, 34 hex.
    secret(
        "secret-postman",
        "secret",
        r"\bPMAK-[0-9a-fA-F]{24}-[0-9a-fA-F]{34}\b",
        0.95,
        Gate::token(&["PMAK-"], 1),
        Samples {
            matches: &["x-api-key: PMAK-0123456789abcdef01234567-0123456789abcdef0123456789abcdef01"],
            ignores: &[
                ("PMAK-0123456789abcdef01234567-0123456789abcdef0123456789abcdef0", "second part one short"),
                ("PMAK-0123456789abcdef01234567", "the second part is missing"),
            ],
        },
    ),
    // Sentry organization auth token: `sntrys_`, base64 JSON claims that name a `region_url`,
    // `_`, a 43-character secret. Shares the `sntry` anchor with the user token.
    Rule {
        after: Some(after_not_base64),
        ..secret(
            "secret-sentry-org",
            "secret",
            concat!(
                r"\bsntrys_eyJpYXQiO[A-Za-z0-9+/]{10,200}",
                r"(?:LCJyZWdpb25fdXJs|InJlZ2lvbl91cmwi|cmVnaW9uX3VybCI6)",
                r"[A-Za-z0-9+/]{10,200}={0,2}_[A-Za-z0-9+/]{43}",
            ),
            0.95,
            Gate::token(&["sntry"], 1),
            Samples {
                matches: &[
                    "SENTRY_AUTH_TOKEN=sntrys_eyJpYXQiOjE3MDAwMDAwMDAuMCwidXJsIjoiaHR0cHM6Ly9zZW50cnkuZXhhbXBsZSIsInJlZ2lvbl91cmwiOiJodHRwczovL3VzLnNlbnRyeS5leGFtcGxlIiwib3JnIjoiZXhhbXBsZSJ9_EXAMPLE0example1EXAMPLE2example3EXAMPLE4exa",
                ],
                ignores: &[
                    ("sntrys_eyJpYXQiOjE3MDAwMDAwMDAuMCwidXJsIjoiaHR0cHM6Ly9zZW50cnkuZXhhbXBsZSJ9_EXAMPLE0example1EXAMPLE2example3EXAMPLE4exa", "claims without a region"),
                    ("sntrys_eyJpYXQiOjE3MDAwMDAwMDAuMCwidXJsIjoiaHR0cHM6Ly9zZW50cnkuZXhhbXBsZSIsInJlZ2lvbl91cmwiOiJodHRwczovL3VzLnNlbnRyeS5leGFtcGxlIiwib3JnIjoiZXhhbXBsZSJ9_EXAMPLE0example1EXAM", "secret part too short"),
                ],
            },
        )
    },
    // Sentry user auth token: `sntryu_` and 64 hex.
    secret(
        "secret-sentry-user",
        "secret",
        r"\bsntryu_[0-9a-f]{64}\b",
        0.95,
        Gate::token(&["sntry"], 1),
        Samples {
            matches: &["sntryu_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
            ignores: &[
                ("sntryu_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", "63 hex: one short"),
                ("sntryu_EXAMPLE0EXAMPLE1EXAMPLE2EXAMPLE3EXAMPLE4EXAMPLE5EXAMPLE6EXAMPLE7", "not hex"),
            ],
        },
    ),
    // Supabase personal access token: `sbp_` and 40 hex.
    secret(
        "secret-supabase",
        "secret",
        r"\bsbp_[0-9a-f]{40}\b",
        0.95,
        Gate::token(&["sbp_"], 1),
        Samples {
            matches: &["SUPABASE_ACCESS_TOKEN=sbp_0123456789abcdef0123456789abcdef01234567"],
            ignores: &[
                ("sbp_0123456789abcdef0123456789abcdef0123456", "39 hex: one short"),
                ("sbp_EXAMPLE0EXAMPLE1EXAMPLE2EXAMPLE3EXAMPLE4", "not hex"),
            ],
        },
    ),
    // Supabase secret API key: `sb_secret_` and 31 URL-safe characters (the matching
    // `sb_publishable_` key is public).
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-supabase-secret-key",
            "secret",
            r"\bsb_secret_[\w-]{31}",
            0.95,
            Gate::token(&["sb_secret_"], 0),
            Samples {
                matches: &["sb_secret_EXAMPLE0-example1_EXAMPLE0-exam"],
                ignores: &[
                    ("sb_publishable_EXAMPLE0-example1_EXAMPLE0-exam", "the publishable key is public"),
                    ("sb_secret_EXAMPLE0-example1_EX", "body too short"),
                ],
            },
        )
    },
    // Grafana service account token: `glsa_`, 32 alphanumerics, `_`, 8 hex.
    secret(
        "secret-grafana-service-account",
        "secret",
        r"\bglsa_[A-Za-z0-9]{32}_[0-9a-fA-F]{8}\b",
        0.95,
        Gate::token(&["glsa_"], 1),
        Samples {
            matches: &["glsa_EXAMPLE0example1EXAMPLE2example3_01234567"],
            ignores: &[
                ("glsa_EXAMPLE0example1EXAMPLE2example3", "the checksum segment is missing"),
                ("glsa_EXAMPLE0example1EXAMPLE2example3_EXAMPLE0", "the checksum is not hex"),
            ],
        },
    ),
    // Grafana Cloud access policy token: `glc_` and base64 (JSON claims).
    Rule {
        after: Some(after_not_base64),
        check: Check::Valid(not_filler),
        ..secret(
            "secret-grafana-cloud",
            "secret",
            r"\bglc_[A-Za-z0-9+/]{32,400}={0,3}",
            0.95,
            Gate::token(&["glc_"], 1),
            Samples {
                matches: &["glc_eyJvIjoiMTIzNDU2IiwibiI6ImV4YW1wbGUiLCJrIjoiEXAMPLE0example1EXAMPLE2example3EXAMPLE4"],
                ignores: &[
                    ("glc_EXAMPLE0example1EXAM", "body shorter than 32"),
                    ("glc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "a filler run, not a token"),
                ],
            },
        )
    },
    // Grafana API key (legacy): base64 JSON starting `{"k":"`, i.e. `eyJrIjoi`.
    Rule {
        after: Some(after_not_base64),
        ..secret(
            "secret-grafana-api-key",
            "secret",
            r"\beyJrIjoi[A-Za-z0-9]{70,400}={0,3}",
            0.95,
            Gate::token(&["eyJrIjoi"], 1),
            Samples {
                matches: &["Authorization: Bearer eyJrIjoiEXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7EXAMPLE8example9"],
                ignores: &[
                    ("eyJrIjoiEXAMPLE0example1EXAMPLE2example3EXAMPLE4", "body shorter than 70"),
                    ("eyJhbGciOiEXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7EXAMPLE8example9", "another JSON header, not a Grafana key"),
                ],
            },
        )
    },
    // Netlify personal access token: `nfp_` and 36–40 alphanumerics.
    secret(
        "secret-netlify",
        "secret",
        r"\bnfp_[A-Za-z0-9]{36,40}\b",
        0.95,
        Gate::token(&["nfp_"], 0),
        Samples {
            matches: &["NETLIFY_AUTH_TOKEN=nfp_EXAMPLE0example1EXAMPLE2example3EXAM"],
            ignores: &[
                ("nfp_EXAMPLE0example1EXAMPLE2exampl", "body shorter than 36"),
                ("nfp_EXAMPLE0example1EXAMPLE2example3EXAMPLE4exam", "body longer than 40"),
            ],
        },
    ),
    // OpenShift user token: `sha256~` and 43 URL-safe characters.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-openshift",
            "secret",
            r"\bsha256~[\w-]{43}",
            0.95,
            Gate { min_digits: 1, ..Gate::anchors(&["sha256~"]) },
            Samples {
                matches: &["oc login --token=sha256~EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE"],
                ignores: &[
                    ("sha256~EXAMPLE0-example1_EXAMPLE0-example1_EXAMPL", "42 characters: one short"),
                    ("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "an image digest, not a token"),
                ],
            },
        )
    },
    // Pulumi access token: `pul-` and 40 hex.
    secret(
        "secret-pulumi",
        "secret",
        r"\bpul-[0-9a-f]{40}\b",
        0.95,
        Gate::token(&["pul-"], 1),
        Samples {
            matches: &["PULUMI_ACCESS_TOKEN=pul-0123456789abcdef0123456789abcdef01234567"],
            ignores: &[
                ("pul-0123456789abcdef0123456789abcdef0123456", "39 hex: one short"),
                ("pul-request-0123456789abcdef0123456789abcdef01234567", "not a token shape"),
            ],
        },
    ),
    // HashiCorp Vault service token: `hvs.` and 90–120 URL-safe characters (the legacy `s.`
    // form is too short a prefix to tell from prose).
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-vault-service",
            "secret",
            r"\bhvs\.[\w-]{90,120}",
            0.95,
            Gate::token(&["hvs."], 1),
            Samples {
                matches: &["VAULT_TOKEN=hvs.EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPL"],
                ignores: &[
                    ("hvs.EXAMPLE0-example1_EXAMPLE0-example1_EXAM", "body shorter than 90"),
                    ("s.EXAMPLE0example1EXAMPLE2", "the legacy form is not covered"),
                ],
            },
        )
    },
    // HashiCorp Vault batch token: `hvb.` and 138–300 URL-safe characters.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-vault-batch",
            "secret",
            r"\bhvb\.[\w-]{138,300}",
            0.95,
            Gate::token(&["hvb."], 1),
            Samples {
                matches: &["hvb.EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPL"],
                ignores: &[
                    ("hvb.EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-e", "body shorter than 138"),
                    ("hvb.EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAM", "body longer than 300"),
                ],
            },
        )
    },
    // Terraform Cloud / Enterprise API token: 14 alphanumerics, `.atlasv1.`, 60–70 URL-safe
    // characters. The match starts 14 bytes before its anchor.
    Rule {
        after: Some(after_token_end),
        ..secret(
            "secret-terraform-cloud",
            "secret",
            r"\b[A-Za-z0-9]{14}\.atlasv1\.[\w=-]{60,70}",
            0.95,
            Gate { min_digits: 1, ..Gate::anchors(&[".atlasv1."]).lead(14) },
            Samples {
                matches: &["token = EXAMPLE0exampl.atlasv1.EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-exa", "EXAMPLE0exampl.atlasv1.EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-exa."],
                ignores: &[
                    ("EXAMPLE0exampl.atlasv1.EXAMPLE0-example1_EXAMPLE0-example1_EXAM", "body shorter than 60"),
                    ("EXAMPLE0ex.atlasv1.EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-exa", "id part shorter than 14"),
                ],
            },
        )
    },
    // New Relic user API key: `NRAK-` and 27 upper-case alphanumerics.
    secret(
        "secret-newrelic-user",
        "secret",
        r"\bNRAK-[A-Z0-9]{27}\b",
        0.95,
        Gate::token(&["NRAK-"], 1),
        Samples {
            matches: &["NEW_RELIC_API_KEY=NRAK-EXAMPLE0EXAMPLE1EXAMPLE2EXA"],
            ignores: &[
                ("NRAK-EXAMPLE0EXAMPLE1EXAMPLE2EX", "26 characters: one short"),
                ("NRAK-EXAMPLE0example1EXAMPLE2exa", "lower-case letters"),
            ],
        },
    ),
    // New Relic insert key: `NRII-` and 32 characters of `[A-Za-z0-9-]`.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-newrelic-insert",
            "secret",
            r"\bNRII-[A-Za-z0-9-]{32}",
            0.95,
            Gate::token(&["NRII-"], 0),
            Samples {
                matches: &["NRII-EXAMPLE0example1EXAMPLE2example3"],
                ignores: &[
                    ("NRII-EXAMPLE0example1EXAMPLE2example", "31 characters: one short"),
                    ("NRJS-0123456789abcdef012", "the browser key is public"),
                ],
            },
        )
    },
    // Dynatrace API token: `dt0c01.`, 24 alphanumerics, `.`, 64 alphanumerics.
    secret(
        "secret-dynatrace",
        "secret",
        r"\bdt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}\b",
        0.95,
        Gate::token(&["dt0c01."], 1),
        Samples {
            matches: &["Api-Token dt0c01.EXAMPLE0EXAMPLE1EXAMPLE2.EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7"],
            ignores: &[
                ("dt0c01.EXAMPLE0EXAMPLE1EXAMPLE2", "the secret part is missing"),
                ("dt0c01.EXAMPLE0EXAMPLE1EXAMPLE2.EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6exam", "secret part too short"),
            ],
        },
    ),
    // Fly.io org / deploy token: `fo1_` and 43 URL-safe characters.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-flyio",
            "secret",
            r"\bfo1_[\w-]{43}",
            0.95,
            Gate::token(&["fo1_"], 1),
            Samples {
                matches: &["FLY_API_TOKEN=fo1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE"],
                ignores: &[
                    ("fo1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPL", "42 characters: one short"),
                    ("fo1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0", "44 characters: too long"),
                ],
            },
        )
    },
    // Fly.io macaroon tokens: `fm1a_`, `fm1r_` or `fm2_` and 100+ base64 characters (a
    // `FlyV1 fm2_…,fm2_…` header holds several; each is reported). The body is binary
    // msgpack, so runs of `A` are normal: only the masking check applies.
    Rule {
        after: Some(after_not_base64),
        ..secret(
            "secret-flyio-macaroon",
            "secret",
            r"\b(?:fm1[ar]|fm2)_[A-Za-z0-9+/]{100,}={0,3}",
            0.95,
            Gate::token(&["fm1a_", "fm1r_", "fm2_"], 1),
            Samples {
                matches: &["Authorization: FlyV1 fm2_lJPECAAAAAAAAEXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example"],
                ignores: &[
                    ("fm2_EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0", "body shorter than 100"),
                    ("fm3_EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example", "an unknown token version"),
                ],
            },
        )
    },
    // PlanetScale service token (`pscale_tkn_`), OAuth token (`pscale_oauth_`) and database
    // password (`pscale_pw_`): 32–64 characters of `[\w=.-]`.
    Rule {
        after: Some(after_token_end),
        ..secret(
            "secret-planetscale",
            "secret",
            r"\bpscale_(?:tkn|oauth|pw)_[\w=.-]{32,64}",
            0.95,
            Gate::token(&["pscale_"], 0),
            Samples {
                matches: &[
                    "pscale_tkn_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE",
                    "password: pscale_pw_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE.",
                    "pscale_oauth_EXAMPLE0-example1_EXAMPLE0-examp",
                ],
                ignores: &[
                    ("pscale_tkn_EXAMPLE0-example1_EX", "body shorter than 32"),
                    ("pscale_key_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE", "an unknown token kind"),
                ],
            },
        )
    },
    // Shopify access (`shpat_`), custom app (`shpca_`), private app (`shppa_`) tokens and the
    // shared secret (`shpss_`): 32 hex.
    secret(
        "secret-shopify",
        "secret",
        r"\bshp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}\b",
        0.95,
        Gate::token(&["shp"], 1),
        Samples {
            matches: &["shpat_0123456789abcdef0123456789abcdef", "X-Shopify-Access-Token: shpca_0123456789abcdef0123456789abcdef", "shpss_0123456789ABCDEF0123456789ABCDEF"],
            ignores: &[
                ("shpat_0123456789abcdef0123456789abcde", "31 hex: one short"),
                ("shpxx_0123456789abcdef0123456789abcdef", "an unknown token kind"),
            ],
        },
    ),
    // Square access token: `EAAA` and 60 URL-safe characters, or the legacy `sq0atp-` and 22.
    // `EAAA` also occurs in base64 text, hence the filler check. `sq0` is shared with the
    // OAuth secret below.
    Rule {
        after: Some(after_not_word_minus),
        check: Check::Valid(not_filler),
        ..secret(
            "secret-square",
            "secret",
            r"\b(?:EAAA[\w-]{60}|sq0atp-[\w-]{22})",
            0.95,
            Gate::token(&["EAAA", "sq0"], 1),
            Samples {
                matches: &["EAAAEXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPL", "sq0atp-EXAMPLE0-example1_EXAM"],
                ignores: &[
                    ("EAAAEXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMP", "59 characters: one short"),
                    ("EAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "zero-filled base64, not a token"),
                    ("sq0atp-EXAMPLE0-example1_EXAMPLE0-exa", "legacy body too long"),
                ],
            },
        )
    },
    // Square OAuth application secret: `sq0csp-` and 43 URL-safe characters.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-square-oauth-secret",
            "secret",
            r"\bsq0csp-[\w-]{43}",
            0.95,
            Gate::token(&["sq0"], 1),
            Samples {
                matches: &["sq0csp-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE"],
                ignores: &[
                    ("sq0csp-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPL", "42 characters: one short"),
                    ("sq0idp-EXAMPLE0-example1_EXAM", "the application id is not a secret"),
                ],
            },
        )
    },
    // Mailgun private API key: `key-` and 32 hex. The public validation key `pubkey-…` is
    // not matched: the boundary falls inside the word. 32 random hex hold digits.
    secret(
        "secret-mailgun",
        "secret",
        r"\bkey-[0-9a-f]{32}\b",
        0.9,
        Gate::token(&["key-"], 6),
        Samples {
            matches: &["api:key-0123456789abcdef0123456789abcdef"],
            ignores: &[
                ("pubkey-0123456789abcdef0123456789abcdef", "the public validation key"),
                ("key-0123456789abcdef0123456789abcde", "31 hex: one short"),
                ("primary-key-example0example1example2example3", "not hex"),
            ],
        },
    ),
    // Mailchimp API key: 32 hex, `-us`, the data-centre number. The match starts 32 bytes
    // before its anchor.
    secret(
        "secret-mailchimp",
        "secret",
        r"\b[0-9a-f]{32}-us[0-9]{1,2}\b",
        0.9,
        Gate {
            min_digits: 6,
            ..Gate::anchors(&["-us"]).lead(32)
        },
        Samples {
            matches: &["apikey 0123456789abcdef0123456789abcdef-us12", "0123456789abcdef0123456789abcdef-us6"],
            ignores: &[
                ("0123456789abcdef0123456789abcde-us12", "31 hex: one short"),
                ("en-us and end-user notes", "a locale, not a key"),
            ],
        },
    ),
    // Telegram bot token: the bot id (5–16 digits), `:`, then 35 URL-safe characters that
    // begin `A` (issued tokens so far begin `AA`). The anchor `:A` is two bytes, but a colon
    // before a capital A is rare in text, and the gate also wants five digits and a `:`. No
    // `\b` before the id: the token often follows `bot` in an API URL.
    Rule {
        before: Some(before_not_digit),
        after: Some(after_not_word_minus),
        ..secret(
            "secret-telegram-bot",
            "secret",
            r"[0-9]{5,16}:A[\w-]{34}",
            0.95,
            Gate { min_digits: 5, needs_assign: true, ..Gate::anchors(&[":A"]).lead(16) },
            Samples {
                matches: &[
                    "https://api.telegram.org/bot1234567890:AAEXAMPLE0-example1_EXAMPLE0-exampl/getMe",
                    "TG_TOKEN=987654321:AEXAMPLE0-example1_EXAMPLE0-example",
                ],
                ignores: &[
                    ("1234567890:AAEXAMPLE0-example1_EX", "secret part too short"),
                    ("12:34:AAEXAMPLE0-example1_EXAMPLE0-exampl", "the bot id is too short"),
                    ("12345678901234567890:AAEXAMPLE0-example1_EXAMPLE0-exampl", "the id is longer than 16 digits"),
                ],
            },
        )
    },
    // age secret key: `AGE-SECRET-KEY-1` and 58 bech32 characters.
    secret(
        "secret-age",
        "secret",
        r"\bAGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b",
        0.95,
        Gate::token(&["AGE-SECRET-KEY-1"], 1),
        Samples {
            matches: &["# created: 2024\nAGE-SECRET-KEY-1EXAMPLE0EXAMPLE2EXAMPLE3EXAMPLE4EXAMPLE5EXAMPLE6EXAMPLE7EX"],
            ignores: &[
                ("AGE-SECRET-KEY-1EXAMPLE0EXAMPLE2EXAMPLE3EXAMPLE4EXAMPLE5EXAMPLE6EXAMPLE7E", "57 characters: one short"),
                ("AGE-SECRET-KEY-1BOBEXAMPLE0EXAMPLE2EXAMPLE3EXAMPLE4EXAMPLE5EXAMPLE6EXAMPLE", "B and O are not bech32"),
            ],
        },
    ),
    // ---- chat and collaboration ------------------------------------------------------------
    // Slack app-level token: `xapp-`, a digit, the app id, a number, the secret.
    secret(
        "secret-slack-app",
        "secret",
        r"\bxapp-[0-9]-[A-Za-z0-9]{8,}-[0-9]{8,}-[A-Za-z0-9]{32,}\b",
        0.95,
        Gate::token(&["xapp-"], 1),
        Samples {
            matches: &["xapp-1-A0EXAMPLE01-1234567890123-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
            ignores: &[
                ("xapp-1-A0EXAMPLE01-1234567890123", "the secret part is missing"),
                ("xapp-1-A0EXAMPLE01-1234567890123-0123456789abcdef", "secret part too short"),
            ],
        },
    ),
    // Slack configuration access token: `xoxe.xoxb-` / `xoxe.xoxp-`, a digit, 163–166
    // alphanumerics. This and the next two Slack forms use the `xox` anchor of `slack-token`.
    secret(
        "secret-slack-config-token",
        "secret",
        r"\bxoxe\.xox[bp]-[0-9]-[A-Za-z0-9]{163,166}\b",
        0.95,
        Gate::token(&["xox"], 1),
        Samples {
            matches: &["xoxe.xoxp-1-EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7EXAMPLE8example9EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7EXAMPLE8example9EXAM"],
            ignores: &[
                ("xoxe.xoxp-1-EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7EXAMPLE8example9EXAMPLE0example1EXAM", "body shorter than 163"),
                ("xoxe.xoxa-1-EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7EXAMPLE8example9EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7EXAMPLE8example9EXAM", "only bot and user configuration tokens"),
            ],
        },
    ),
    // Slack refresh token: `xoxe-`, a digit, 146 alphanumerics, or the numbered form.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-slack-refresh-token",
            "secret",
            r"\bxoxe-(?:[0-9]-[A-Za-z0-9]{146}|[0-9]{10,13}-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9-]{28,34})",
            0.95,
            Gate::token(&["xox"], 1),
            Samples {
                matches: &[
                    "xoxe-1-EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7EXAMPLE8example9EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7EX",
                    "xoxe-1234567890-1234567890-1234567890-EXAMPLE0example1EXAMPLE2example3",
                ],
                ignores: &[
                    ("xoxe-1-EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7EXAMPLE8example9EXAMPLE0example1EXAM", "body shorter than 146"),
                    ("xoxe-unknownprefix", "not a token"),
                ],
            },
        )
    },
    // Slack legacy token `xoxo-`: three numbers and a hex secret (`xoxs-` is covered by
    // `slack-token`).
    secret(
        "secret-slack-legacy",
        "secret",
        r"\bxoxo-[0-9]+-[0-9]+-[0-9]+-[0-9a-fA-F]{8,}\b",
        0.9,
        Gate::token(&["xox"], 1),
        Samples {
            matches: &["xoxo-1234567890-1234567890-1234567890-0123456789abcdef0123456789abcdef"],
            ignores: &[
                ("xoxo-1234567890-1234567890-0123456789abcdef0123456789abcdef", "only two numbers"),
                ("xoxo-love-from-all-of-us", "a greeting"),
            ],
        },
    ),
    // Slack incoming webhook, workflow and trigger URLs. The three webhook rules share the
    // `://` anchor of `secret-url-password`; the match starts at the scheme, at most five
    // bytes before it.
    secret(
        "secret-slack-webhook",
        "secret",
        r"\bhttps?://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{43,}",
        0.95,
        Gate { needs_assign: true, ..Gate::anchors(&["://"]).lead(5) },
        Samples {
            matches: &[
                "https://hooks.slack.com/services/TEXAMPLE0/BEXAMPLE1/EXAMPLE0example1EXAMPLE2",
                "https://hooks.slack.com/workflows/TEXAMPLE0/AEXAMPLE1/123456789012345678/EXAMPLE0example1EXAMPLE2",
            ],
            ignores: &[
                ("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "the documentation placeholder"),
                ("https://hooks.slack.com/services/TEXAMPLE0", "no secret path"),
            ],
        },
    ),
    // Discord webhook URL: the webhook id (17–20 digits) and its 60–68 character token.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-discord-webhook",
            "secret",
            r"\bhttps://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api/(?:v[0-9]{1,2}/)?webhooks/[0-9]{17,20}/[\w-]{60,68}",
            0.95,
            Gate { min_digits: 1, needs_assign: true, ..Gate::anchors(&["://"]).lead(5) },
            Samples {
                matches: &[
                    "https://discord.com/api/webhooks/123456789012345678/EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-examp",
                    "https://canary.discordapp.com/api/v10/webhooks/12345678901234567/EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPL",
                ],
                ignores: &[
                    ("https://discord.com/api/webhooks/123456789012345678", "no token"),
                    ("https://discord.com/api/webhooks/123456789012345678/EXAMPLE0-example1_EXAMPLE0-exa", "token too short"),
                ],
            },
        )
    },
    // Microsoft Teams incoming webhook (Office 365 connector) URL; the tenant label is a DNS
    // label (at most 63 bytes).
    secret(
        "secret-teams-webhook",
        "secret",
        concat!(
            r"\bhttps://[a-z0-9-]{1,63}\.webhook\.office\.com/webhookb2/",
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}@",
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/IncomingWebhook/",
            r"[0-9a-f]{32}/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        ),
        0.95,
        Gate { min_digits: 1, needs_assign: true, ..Gate::anchors(&["://"]).lead(5) },
        Samples {
            matches: &[
                "https://example.webhook.office.com/webhookb2/01234567-89ab-cdef-0123-456789abcdef@fedcba98-7654-3210-fedc-ba9876543210/IncomingWebhook/0123456789abcdef0123456789abcdef/00112233-4455-6677-8899-aabbccddeeff",
            ],
            ignores: &[
                ("https://example.webhook.office.com/webhookb2/01234567-89ab-cdef-0123-456789abcdef@fedcba98-7654-3210-fedc-ba9876543210/IncomingWebhook/", "the secret segments are missing"),
                ("https://example.webhook.office.com/webhookb2/", "a bare endpoint"),
            ],
        },
    ),
    // Atlassian API token: `ATATT3` and 186 characters of `[\w=-]`.
    Rule {
        after: Some(after_token_end),
        ..secret(
            "secret-atlassian",
            "secret",
            r"\bATATT3[\w=-]{186}",
            0.95,
            Gate::token(&["ATATT3"], 1),
            Samples {
                matches: &["ATATT3EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPL"],
                ignores: &[
                    ("ATATT3EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-e", "body shorter than 186"),
                    ("ATATT3EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-e", "body longer than 186"),
                ],
            },
        )
    },
    // Bitbucket app password: `ATBB` and 32 alphanumerics.
    Rule {
        check: Check::Valid(not_filler),
        ..secret(
            "secret-bitbucket-app-password",
            "secret",
            r"\bATBB[A-Za-z0-9]{32}\b",
            0.9,
            Gate::token(&["ATBB"], 1),
            Samples {
                matches: &["ATBBEXAMPLE0example1EXAMPLE2example3"],
                ignores: &[
                    ("ATBBEXAMPLE0example1EXAMPLE2example", "31 characters: one short"),
                    ("ATBBEXAMPLE0example1EXAMPLE2example3E", "33 characters: too long"),
                ],
            },
        )
    },
    // Notion integration secret: `ntn_`, 11 digits, 35 alphanumerics; or the older `secret_`
    // and 43 alphanumerics.
    secret(
        "secret-notion",
        "secret",
        r"\b(?:ntn_[0-9]{11}[A-Za-z0-9]{35}|secret_[A-Za-z0-9]{43})\b",
        0.95,
        Gate::token(&["ntn_", "secret_"], 0),
        Samples {
            matches: &["ntn_12345678901EXAMPLE0example1EXAMPLE2example3EXA", "NOTION_TOKEN=secret_EXAMPLE0example1EXAMPLE2example3EXAMPLE4exa"],
            ignores: &[
                ("ntn_EXAMPLE0example1EXAMPLE2example3EXAMPLE4exampl", "no 11-digit id"),
                ("secret_key_name", "an identifier"),
                ("client_secret_EXAMPLE0example1EXAMPLE2example3EXAMPLE4exa", "the prefix inside a longer name"),
            ],
        },
    ),
    // Mapbox secret token: `sk.` and a JWT-like body (`pk.` tokens are public).
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-mapbox",
            "secret",
            r"\bsk\.eyJ[\w-]{20,}\.[\w-]{22}",
            0.95,
            Gate::token(&["sk.eyJ"], 1),
            Samples {
                matches: &["sk.eyJ1IjoiZXhhbXBsZSIsImEiOiJjbGV4YW1wbGUifQ.EXAMPLE0-example1_EXAM"],
                ignores: &[
                    ("pk.eyJ1IjoiZXhhbXBsZSIsImEiOiJjbGV4YW1wbGUifQ.EXAMPLE0-example1_EXAM", "the public token"),
                    ("sk.eyJ1IjoiZXhhbXBsZSIsImEiOiJjbGV4YW1wbGUifQ.EXAMPLE0-e", "signature too short"),
                ],
            },
        )
    },
    // ---- source hosting, packages and CI ---------------------------------------------------
    // RubyGems API key: `rubygems_` and 48 hex.
    secret(
        "secret-rubygems",
        "secret",
        r"\brubygems_[0-9a-f]{48}\b",
        0.95,
        Gate::token(&["rubygems_"], 1),
        Samples {
            matches: &["GEM_HOST_API_KEY=rubygems_0123456789abcdef0123456789abcdef0123456789abcdef"],
            ignores: &[
                ("rubygems_0123456789abcdef0123456789abcdef0123456789abcde", "47 hex: one short"),
                ("rubygems_org_mirror", "an identifier"),
            ],
        },
    ),
    // Clojars deploy token: `CLOJARS_` and 60 alphanumerics.
    secret(
        "secret-clojars",
        "secret",
        r"\bCLOJARS_[A-Za-z0-9]{60}\b",
        0.95,
        Gate::token(&["CLOJARS_"], 1),
        Samples {
            matches: &["CLOJARS_example0example1example2example3example4example5example6exam"],
            ignores: &[
                ("CLOJARS_example0example1example2example3example4example5example6exa", "59 characters: one short"),
                ("CLOJARS_USERNAME", "a variable name"),
            ],
        },
    ),
    // NuGet API key: `oy2` and 43 lower-case alphanumerics. This and the other all-alphanumeric
    // formats below (Artifactory, Facebook, EasyPost, ClickHouse) are scoped to alphanumeric
    // runs holding two digits: no anchor.
    secret(
        "secret-nuget",
        "secret",
        r"\boy2[a-z0-9]{43}\b",
        0.9,
        Gate::scoped(Scope::Alnum, 2, 1, &[]).letters(2),
        Samples {
            matches: &["dotnet nuget push -k oy2example0example1example2example3example4exa"],
            ignores: &[
                ("oy2example0example1example2example3example4ex", "42 characters: one short"),
                ("oy2EXAMPLE0EXAMPLE1EXAMPLE2EXAMPLE3EXAMPLE4EXA", "upper-case letters"),
            ],
        },
    ),
    // JFrog Artifactory API key: `AKCp` and 69 alphanumerics.
    Rule {
        check: Check::Valid(not_filler),
        ..secret(
            "secret-artifactory-api-key",
            "secret",
            r"\bAKCp[A-Za-z0-9]{69}\b",
            0.95,
            Gate::scoped(Scope::Alnum, 2, 1, &[]).letters(4),
            Samples {
                matches: &["X-JFrog-Art-Api: AKCpEXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7EXAMP"],
                ignores: &[
                    ("AKCpEXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7EXAM", "68 characters: one short"),
                    ("AKCpEXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7EXAMPL", "70 characters: too long"),
                ],
            },
        )
    },
    // JFrog Artifactory reference token: base64 of `reftkn…`, i.e. `cmVmd` and 59 more.
    Rule {
        check: Check::Valid(not_filler),
        ..secret(
            "secret-artifactory-reference-token",
            "secret",
            r"\bcmVmd[A-Za-z0-9]{59}\b",
            0.95,
            Gate::scoped(Scope::Alnum, 2, 1, &[]).letters(5),
            Samples {
                matches: &["cmVmdGtuOjAxOjEXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EX"],
                ignores: &[
                    ("cmVmdEXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6ex", "58 characters: one short"),
                    ("cmVmdAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "zero-filled base64, not a token"),
                ],
            },
        )
    },
    // Sonar (SonarQube / SonarCloud) user, project and analysis tokens: `squ_`, `sqp_`,
    // `sqa_` and 40 hex.
    secret(
        "secret-sonar",
        "secret",
        r"\bsq[apu]_[0-9a-f]{40}\b",
        0.95,
        Gate::token(&["squ_", "sqp_", "sqa_"], 1),
        Samples {
            matches: &["SONAR_TOKEN=squ_0123456789abcdef0123456789abcdef01234567", "sqp_0123456789abcdef0123456789abcdef01234567"],
            ignores: &[
                ("squ_0123456789abcdef0123456789abcdef0123456", "39 hex: one short"),
                ("sqx_0123456789abcdef0123456789abcdef01234567", "an unknown token kind"),
            ],
        },
    ),
    // Sourcegraph access token: `sgp_`, an optional instance part (16 hex or `local`) and
    // `_`, 40 hex.
    secret(
        "secret-sourcegraph",
        "secret",
        r"\bsgp_(?:(?:[0-9a-fA-F]{16}|local)_)?[0-9a-fA-F]{40}\b",
        0.95,
        Gate::token(&["sgp_"], 1),
        Samples {
            matches: &["sgp_0123456789abcdef0123456789abcdef01234567", "sgp_0123456789abcdef_0123456789abcdef0123456789abcdef01234567", "sgp_local_0123456789abcdef0123456789abcdef01234567"],
            ignores: &[
                ("sgp_0123456789abcdef0123456789abcdef0123456", "39 hex: one short"),
                ("sgp_remote_0123456789abcdef0123456789abcdef01234567", "an unknown instance part"),
            ],
        },
    ),
    // Octopus Deploy API key: `API-` and 26 upper-case alphanumerics.
    secret(
        "secret-octopus",
        "secret",
        r"\bAPI-[A-Z0-9]{26}\b",
        0.9,
        Gate::token(&["API-"], 1),
        Samples {
            matches: &["X-Octopus-ApiKey: API-EXAMPLE0EXAMPLE1EXAMPLE2EX"],
            ignores: &[
                ("API-EXAMPLE0EXAMPLE1EXAMPLE2E", "25 characters: one short"),
                ("API-EXAMPLE0example1EXAMPLE2ex", "lower-case letters"),
            ],
        },
    ),
    // Prefect API key: `pnu_` and 36 alphanumerics.
    secret(
        "secret-prefect",
        "secret",
        r"\bpnu_[A-Za-z0-9]{36}\b",
        0.95,
        Gate::token(&["pnu_"], 0),
        Samples {
            matches: &["PREFECT_API_KEY=pnu_EXAMPLE0example1EXAMPLE2example3EXAM"],
            ignores: &[
                ("pnu_EXAMPLE0example1EXAMPLE2example3EXA", "35 characters: one short"),
                ("pnu_EXAMPLE0example1EXAMPLE2example3EXAMP", "37 characters: too long"),
            ],
        },
    ),
    // ReadMe API key: `rdme_` and 70 lower-case alphanumerics.
    secret(
        "secret-readme",
        "secret",
        r"\brdme_[a-z0-9]{70}\b",
        0.95,
        Gate::token(&["rdme_"], 1),
        Samples {
            matches: &["rdme_example0example1example2example3example4example5example6example7exampl"],
            ignores: &[
                ("rdme_example0example1example2example3example4example5example6example7examp", "69 characters: one short"),
                ("rdme_EXAMPLE0EXAMPLE1EXAMPLE2EXAMPLE3EXAMPLE4EXAMPLE5EXAMPLE6EXAMPLE7EXAMPL", "upper-case letters"),
            ],
        },
    ),
    // Scalingo API token: `tk-us-` and 48 URL-safe characters.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-scalingo",
            "secret",
            r"\btk-us-[\w-]{48}",
            0.95,
            Gate::token(&["tk-us-"], 1),
            Samples {
                matches: &["tk-us-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-exa"],
                ignores: &[
                    ("tk-us-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-ex", "47 characters: one short"),
                    ("tk-us-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-exam", "49 characters: too long"),
                ],
            },
        )
    },
    // Harness personal / service account token: `pat.` or `sat.`, then three dot-separated
    // parts of 22, 24 and 20 characters.
    secret(
        "secret-harness",
        "secret",
        r"\b(?:pat|sat)\.[\w-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}\b",
        0.95,
        Gate::token(&["pat.", "sat."], 1),
        Samples {
            matches: &["x-api-key: pat.EXAMPLE0-example1_EXAM.EXAMPLE0example1EXAMPLE2.EXAMPLE0example1EXAM"],
            ignores: &[
                ("pat.EXAMPLE0-example1_EXAM.EXAMPLE0example1EXAMPLE2", "the last part is missing"),
                ("sat.EXAMPLE0-example1_EXAM.EXAMPLE0example1EXAMPLE2.EXAMPLE0example1EXA", "last part one short"),
            ],
        },
    ),
    // Infracost API key: `ico-` and 32 alphanumerics.
    secret(
        "secret-infracost",
        "secret",
        r"\bico-[A-Za-z0-9]{32}\b",
        0.95,
        Gate::token(&["ico-"], 0),
        Samples {
            matches: &["INFRACOST_API_KEY=ico-EXAMPLE0example1EXAMPLE2example3"],
            ignores: &[
                ("ico-EXAMPLE0example1EXAMPLE2example", "31 characters: one short"),
                ("favico-EXAMPLE0example1EXAMPLE2example3", "the prefix inside a longer word"),
            ],
        },
    ),
    // Defined Networking API token: `dnkey-`, 26 characters, `-`, 52 characters.
    Rule {
        after: Some(after_token_end),
        ..secret(
            "secret-defined-networking",
            "secret",
            r"\bdnkey-[\w=-]{26}-[\w=-]{52}",
            0.95,
            Gate::token(&["dnkey-"], 1),
            Samples {
                matches: &["dnkey-EXAMPLE0example1EXAMPLE2ex-EXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAM"],
                ignores: &[
                    ("dnkey-EXAMPLE0example1EXAMPLE2ex", "the second part is missing"),
                    ("dnkey-EXAMPLE0example1EXAMPLE2ex-EXAMPLE0example1EXAMPLE2example3EXAMPLE4", "second part too short"),
                ],
            },
        )
    },
    // Cloudflare Origin CA key: `v1.0-`, 24 hex, `-`, 146 hex.
    secret(
        "secret-cloudflare-origin-ca",
        "secret",
        r"\bv1\.0-[0-9a-f]{24}-[0-9a-f]{146}\b",
        0.95,
        Gate::token(&["v1.0-"], 1),
        Samples {
            matches: &["v1.0-0123456789abcdef01234567-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef01"],
            ignores: &[
                ("v1.0-0123456789abcdef01234567-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123", "second part too short"),
                ("release v1.0-beta-2 notes", "a version string"),
            ],
        },
    ),
    // Heroku API key (v2): `HRKU-AA` and 58 URL-safe characters.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-heroku",
            "secret",
            r"\bHRKU-AA[\w-]{58}",
            0.95,
            Gate::token(&["HRKU-AA"], 1),
            Samples {
                matches: &["HEROKU_API_KEY=HRKU-AAEXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAM"],
                ignores: &[
                    ("HRKU-AAEXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXA", "57 characters: one short"),
                    ("HRKU-AAEXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMP", "59 characters: too long"),
                ],
            },
        )
    },
    // 1Password account secret key: `A3-`, six characters, then five dash-separated groups.
    secret(
        "secret-1password-secret-key",
        "secret",
        r"\bA3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5}\b",
        0.95,
        Gate::token(&["A3-"], 1),
        Samples {
            matches: &[
                "A3-EXAMP0-EXAMPLE0123-EXAM1-EXAM2-EXAM3",
                "A3-EXAMP0-EXAMP1-EXAM2-EXAM3-EXAM4-EXAM5",
            ],
            ignores: &[
                ("A3-EXAMP0-EXAMPLE0123-EXAM1-EXAM2", "a group is missing"),
                ("A3-paper-size-notes", "a paper size"),
            ],
        },
    ),
    // 1Password service account token: `ops_` and base64 JSON of at least 250 characters.
    Rule {
        after: Some(after_not_base64),
        ..secret(
            "secret-1password-service-account",
            "secret",
            r"\bops_eyJ[A-Za-z0-9+/]{250,}={0,3}",
            0.95,
            Gate::token(&["ops_eyJ"], 1),
            Samples {
                matches: &["OP_SERVICE_ACCOUNT_TOKEN=ops_eyJEXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2"],
                ignores: &[
                    ("ops_eyJEXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAM", "body shorter than 250"),
                    ("ops_EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2", "not base64 JSON"),
                ],
            },
        )
    },
    // ---- payments, commerce and messaging --------------------------------------------------
    // Flutterwave secret key (`FLWSECK-` live, `FLWSECK_TEST-` test): 32 characters and `-X`.
    secret(
        "secret-flutterwave",
        "secret",
        r"\bFLWSECK(?:_TEST)?-[0-9a-hA-H]{32}-X\b",
        0.95,
        Gate::token(&["FLWSECK"], 1),
        Samples {
            matches: &["FLWSECK-0123456789abcdef0123456789abcdef-X", "FLWSECK_TEST-0123456789abcdef0123456789abcdef-X"],
            ignores: &[
                ("FLWPUBK-0123456789abcdef0123456789abcdef-X", "the public key"),
                ("FLWSECK-0123456789abcdef0123456789abcde-X", "31 characters: one short"),
            ],
        },
    ),
    // Flutterwave test encryption key: `FLWSECK_TEST` and 12 characters.
    secret(
        "secret-flutterwave-encryption",
        "secret",
        r"\bFLWSECK_TEST-?[0-9a-hA-H]{12}\b",
        0.9,
        Gate::token(&["FLWSECK"], 1),
        Samples {
            matches: &["FLWSECK_TEST0123456789ab", "FLWSECK_TEST-0123456789ab"],
            ignores: &[
                ("FLWSECK_TEST-0123456789abcdef0123456789abcdef-X", "a secret key, not an encryption key"),
                ("FLWSECK_TEST01234567", "too short"),
            ],
        },
    ),
    // Facebook page access token: `EAAC` / `EAAM` and 100+ alphanumerics.
    Rule {
        check: Check::Valid(not_filler),
        ..secret(
            "secret-facebook-page",
            "secret",
            r"\bEAA[CM][A-Za-z0-9]{100,}\b",
            0.9,
            Gate::scoped(Scope::Alnum, 2, 1, &[]).letters(4),
            Samples {
                matches: &["access_token=EAACEXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7EXAMPLE8example9EXAMPLE0example1EXAMPLE2example3EXAMPLE4"],
                ignores: &[
                    ("EAACEXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6exam", "body shorter than 100"),
                    ("EAACAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "zero-filled base64, not a token"),
                ],
            },
        )
    },
    // Shippo API token: `shippo_live_` / `shippo_test_` and 40 hex.
    secret(
        "secret-shippo",
        "secret",
        r"\bshippo_(?:live|test)_[0-9a-fA-F]{40}\b",
        0.95,
        Gate::token(&["shippo_"], 1),
        Samples {
            matches: &["ShippoToken shippo_live_0123456789abcdef0123456789abcdef01234567"],
            ignores: &[
                ("shippo_live_0123456789abcdef0123456789abcdef0123456", "39 hex: one short"),
                ("shippo_demo_0123456789abcdef0123456789abcdef01234567", "an unknown mode"),
            ],
        },
    ),
    // Duffel API token: `duffel_live_` / `duffel_test_` and 43 characters.
    Rule {
        after: Some(after_token_end),
        ..secret(
            "secret-duffel",
            "secret",
            r"\bduffel_(?:live|test)_[\w=-]{43}",
            0.95,
            Gate::token(&["duffel_"], 1),
            Samples {
                matches: &["duffel_test_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE"],
                ignores: &[
                    ("duffel_test_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPL", "42 characters: one short"),
                    ("duffel_test_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0", "44 characters: too long"),
                ],
            },
        )
    },
    // EasyPost production (`EZAK`) and test (`EZTK`) API keys: 54 alphanumerics.
    secret(
        "secret-easypost",
        "secret",
        r"\bEZ[AT]K[A-Za-z0-9]{54}\b",
        0.95,
        Gate::scoped(Scope::Alnum, 2, 1, &[]).letters(4),
        Samples {
            matches: &["EZAKEXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPL", "EZTKEXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPL"],
            ignores: &[
                ("EZAKEXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMP", "53 characters: one short"),
                ("EZAKEXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE", "55 characters: too long"),
            ],
        },
    ),
    // Plaid access token: `access-`, the environment, a UUID.
    secret(
        "secret-plaid",
        "secret",
        r"\baccess-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        0.95,
        Gate::token(&["access-"], 1),
        Samples {
            matches: &["access-sandbox-01234567-89ab-cdef-0123-456789abcdef"],
            ignores: &[
                ("access-staging-01234567-89ab-cdef-0123-456789abcdef", "an unknown environment"),
                ("access-production-01234567-89ab", "a truncated UUID"),
            ],
        },
    ),
    // Lob API key: `live_` / `test_` and 35 hex (`live_pub_…` publishable keys are public).
    // 35 random hex hold digits.
    secret(
        "secret-lob",
        "secret",
        r"\b(?:live|test)_[0-9a-f]{35}\b",
        0.9,
        Gate::token(&["live_", "test_"], 6),
        Samples {
            matches: &["test_0123456789abcdef0123456789abcdef012"],
            ignores: &[
                ("test_pub_0123456789abcdef0123456789abcde", "the publishable key"),
                ("test_0123456789abcdef0123456789abcdef01", "34 hex: one short"),
                ("test_parse_config_defaults_12345", "a test name"),
            ],
        },
    ),
    // Brevo (Sendinblue) API key `xkeysib-` and SMTP key `xsmtpsib-`: 64 hex, `-`, 16
    // alphanumerics. Both hold `sib-`, at most five bytes in.
    secret(
        "secret-sendinblue",
        "secret",
        r"\bx(?:keysib|smtpsib)-[0-9a-f]{64}-[A-Za-z0-9]{16}\b",
        0.95,
        Gate::token(&["xkeysib-", "xsmtpsib-"], 1),
        Samples {
            matches: &["api-key: xkeysib-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef-EXAMPLE0example1", "xsmtpsib-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef-EXAMPLE0example1"],
            ignores: &[
                ("xkeysib-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "the suffix is missing"),
                ("xkeysib-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef-EXAMPLE0exam", "suffix too short"),
            ],
        },
    ),
    // HubSpot private app token: `pat-na1-` / `pat-eu1-` and a UUID.
    secret(
        "secret-hubspot",
        "secret",
        r"\bpat-(?:na|eu)1-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        0.95,
        Gate::token(&["pat-na1-", "pat-eu1-"], 1),
        Samples {
            matches: &["Authorization: Bearer pat-na1-01234567-89ab-cdef-0123-456789abcdef"],
            ignores: &[
                ("pat-ap1-01234567-89ab-cdef-0123-456789abcdef", "an unknown region"),
                ("pat-na1-01234567-89ab-cdef", "a truncated UUID"),
            ],
        },
    ),
    // LaunchDarkly API access token (`api-`) and server-side SDK key (`sdk-`): a UUID. The
    // mobile key `mob-` ships in apps and is left out.
    secret(
        "secret-launchdarkly",
        "secret",
        r"\b(?:api|sdk)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
        0.9,
        Gate::token(&["api-", "sdk-"], 4),
        Samples {
            matches: &["sdk-01234567-89ab-cdef-0123-456789abcdef"],
            ignores: &[
                ("mob-01234567-89ab-cdef-0123-456789abcdef", "the mobile key is public"),
                ("x-api-version-2024", "a header name"),
            ],
        },
    ),
    // Twitter / X app-only bearer token: 21 `A`s and a URL-encoded body. The check wants a `%`
    // escape and varied characters, so zero-filled base64 (a run of `A`s) is not one.
    Rule {
        after: Some(after_not_alnum_percent),
        check: Check::Valid(twitter_bearer),
        ..secret(
            "secret-twitter-bearer",
            "secret",
            r"\bA{21}[A-Za-z0-9%]{80,110}",
            0.95,
            Gate::token(&["AAAAAAAAAAAAAAAAAAAAA"], 1),
            Samples {
                matches: &["Bearer AAAAAAAAAAAAAAAAAAAAAEXAMPLE0example1%2BEXAMPLE2example3%2FEXAMPLE4example5%3DEXAMPLE6example7EXAMPLE8example9"],
                ignores: &[
                    ("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%2FAAAAAAAAAAAAAAAAAAAA%3DAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "the documentation placeholder"),
                    ("AAAAAAAAAAAAAAAAAAAAAEXAMPLE0example1EXAMPLE2example3EXAMPLE4example5EXAMPLE6example7EXAMPLE8example9", "no URL escape: base64 text"),
                ],
            },
        )
    },
    // Typeform personal token: `tfp_` and 59 characters of `[\w.=-]`.
    Rule {
        after: Some(after_token_end),
        ..secret(
            "secret-typeform",
            "secret",
            r"\btfp_[\w.=-]{59}",
            0.95,
            Gate::token(&["tfp_"], 1),
            Samples {
                matches: &["tfp_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMP", "token tfp_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMP."],
                ignores: &[
                    ("tfp_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAM", "58 characters: one short"),
                    ("tfp_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPL", "60 characters: too long"),
                ],
            },
        )
    },
    // Settlemint personal, application and service access tokens: `sm_pat_`, `sm_aat_`,
    // `sm_sat_` and 16 alphanumerics (anchor `sm_`).
    secret(
        "secret-settlemint",
        "secret",
        r"\bsm_(?:pat|aat|sat)_[A-Za-z0-9]{16}\b",
        0.95,
        Gate::token(&["sm_"], 0),
        Samples {
            matches: &["sm_pat_EXAMPLE0example1", "sm_sat_EXAMPLE0example1"],
            ignores: &[
                ("sm_pat_EXAMPLE0example", "15 characters: one short"),
                ("sm_pat_EXAMPLE0example1E", "17 characters: too long"),
            ],
        },
    ),
    // Frame.io API token: `fio-u-` and 64 characters of `[\w=-]`.
    Rule {
        after: Some(after_token_end),
        ..secret(
            "secret-frameio",
            "secret",
            r"\bfio-u-[\w=-]{64}",
            0.95,
            Gate::token(&["fio-u-"], 1),
            Samples {
                matches: &["fio-u-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-e"],
                ignores: &[
                    ("fio-u-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-", "63 characters: one short"),
                    ("fio-u-EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-ex", "65 characters: too long"),
                ],
            },
        )
    },
    // Dropbox short-lived access token: `sl.` (or `sl.u.`) and 135+ characters.
    Rule {
        after: Some(after_token_end),
        ..secret(
            "secret-dropbox",
            "secret",
            r"\bsl\.(?:u\.)?[\w=-]{135,}",
            0.9,
            Gate::token(&["sl."], 1),
            Samples {
                matches: &["Bearer sl.EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-examp", "sl.u.EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EX"],
                ignores: &[
                    ("sl.EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-e", "body shorter than 135"),
                    ("https://ssl.example.com/path", "a host name"),
                ],
            },
        )
    },
    // Adafruit IO key: `aio_` and 28 alphanumerics.
    secret(
        "secret-adafruit",
        "secret",
        r"\baio_[A-Za-z0-9]{28}\b",
        0.9,
        Gate::token(&["aio_"], 0),
        Samples {
            matches: &["ADAFRUIT_IO_KEY=aio_EXAMPLE0example1EXAMPLE2exam"],
            ignores: &[
                ("aio_EXAMPLE0example1EXAMPLE2exa", "27 characters: one short"),
                ("aio_http_client_session", "an identifier"),
            ],
        },
    ),
    // Adobe client secret: `p8e-` and 32 alphanumerics.
    secret(
        "secret-adobe",
        "secret",
        r"\bp8e-[A-Za-z0-9]{32}\b",
        0.95,
        Gate::token(&["p8e-"], 1),
        Samples {
            matches: &["p8e-EXAMPLE0example1EXAMPLE2example3"],
            ignores: &[
                ("p8e-EXAMPLE0example1EXAMPLE2example", "31 characters: one short"),
                ("p8e-EXAMPLE0example1EXAMPLE2example3E", "33 characters: too long"),
            ],
        },
    ),
    // Airtable personal access token: `pat`, 14 alphanumerics, `.`, 64 hex. `pat` is a common
    // word start, so the gate also asks for the digits 64 random hex always carry.
    secret(
        "secret-airtable",
        "secret",
        r"\bpat[A-Za-z0-9]{14}\.[0-9a-f]{64}\b",
        0.95,
        Gate::token(&["pat"], 16),
        Samples {
            matches: &["Authorization: Bearer patEXAMPLE0exampl.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
            ignores: &[
                ("patEXAMPLE0exampl.0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab", "secret part too short"),
                ("path.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "a path, not a token id"),
            ],
        },
    ),
    // Alibaba Cloud AccessKey ID: `LTAI` and 20 alphanumerics.
    Rule {
        check: Check::Valid(not_filler),
        ..secret(
            "secret-alibaba",
            "secret",
            r"\bLTAI[A-Za-z0-9]{20}\b",
            0.9,
            Gate::token(&["LTAI"], 1),
            Samples {
                matches: &["ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIEXAMPLE0example1EXAM"],
                ignores: &[
                    ("LTAIEXAMPLE0example1EXA", "19 characters: one short"),
                    ("LTAIEXAMPLE0example1EXAMP", "21 characters: too long"),
                ],
            },
        )
    },
    // ClickHouse Cloud API secret: `4b1d` and 38 alphanumerics.
    secret(
        "secret-clickhouse",
        "secret",
        r"\b4b1d[A-Za-z0-9]{38}\b",
        0.9,
        Gate::scoped(Scope::Alnum, 2, 1, &[]).letters(2),
        Samples {
            matches: &["4b1dEXAMPLE0example1EXAMPLE2example3EXAMPL"],
            ignores: &[
                ("4b1dEXAMPLE0example1EXAMPLE2example3EXAMP", "37 characters: one short"),
                ("0123456789abcdef012345674b1d0123456789abcdef0123456789abcdef01234567", "inside a longer hex string"),
            ],
        },
    ),
    // Intra 42 client secret: `s-s4t2ud-` / `s-s4t2af-` and 64 hex.
    secret(
        "secret-intra42",
        "secret",
        r"\bs-s4t2(?:ud|af)-[0-9a-fA-F]{64}\b",
        0.95,
        Gate::token(&["s-s4t2"], 1),
        Samples {
            matches: &["s-s4t2ud-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"],
            ignores: &[
                ("s-s4t2ud-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", "63 hex: one short"),
                ("s-s4t2xx-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "an unknown kind"),
            ],
        },
    ),
    // MaxMind license key: 6 alphanumerics, `_`, 29 alphanumerics, `_mmk`. The match starts
    // 36 bytes before its anchor.
    secret(
        "secret-maxmind",
        "secret",
        r"\b[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk\b",
        0.95,
        Gate { min_digits: 1, ..Gate::anchors(&["_mmk"]).lead(36) },
        Samples {
            matches: &["MAXMIND_LICENSE_KEY=EXAMPL_EXAMPLE0example1EXAMPLE2examp_mmk"],
            ignores: &[
                ("EXAMPL_EXAMPLE0example1EXAM_mmk", "second part too short"),
                ("EXAMPL_EXAMPLE0example1EXAMPLE2examp_mmkx", "the suffix goes on"),
            ],
        },
    ),
    // Authress service client access key: a client id, an account part, `acc_` / `acc-` and
    // the key. The literal `.acc` lies at most 46 bytes in.
    Rule {
        after: Some(after_not_base64_url),
        ..secret(
            "secret-authress",
            "secret",
            r"\b(?:sc|ext|scauth|authress)_[A-Za-z0-9]{5,30}\.[A-Za-z0-9]{4,6}\.acc[_-][A-Za-z0-9-]{10,32}\.[A-Za-z0-9+/_=-]{30,120}",
            0.95,
            Gate { min_digits: 1, ..Gate::anchors(&[".acc"]).lead(46) },
            Samples {
                matches: &["sc_EXAMPLE0exam.examp.acc_example0example1.EXAMPLE0example1EXAMPLE2example3EXAMPLE4"],
                ignores: &[
                    ("sc_EXAMPLE0exam.examp.acc_example0example1", "the key part is missing"),
                    ("sc_EXAMPLE0exam.examp.acc_example0example1.EXAMPLE0example1EXAM", "key part too short"),
                ],
            },
        )
    },
    // Amazon Bedrock long-term API key: `ABSK` and 109–269 base64 characters.
    Rule {
        after: Some(after_not_base64),
        check: Check::Valid(not_filler),
        ..secret(
            "secret-aws-bedrock",
            "secret",
            r"\bABSK[A-Za-z0-9+/]{109,269}={0,2}",
            0.95,
            Gate::token(&["ABSK"], 1),
            Samples {
                matches: &["AWS_BEARER_TOKEN_BEDROCK=ABSKQmVkcm9ja0FQSUtleSEXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example"],
                ignores: &[
                    ("ABSKEXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0", "body shorter than 109"),
                    ("ABSKEXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+examp", "body longer than 269"),
                ],
            },
        )
    },
    // Amazon Bedrock short-term API key: `bedrock-api-key-` and base64 of a presigned URL
    // (`bedrock.amazonaws.com…`).
    Rule {
        after: Some(after_not_base64),
        ..secret(
            "secret-aws-bedrock-short-lived",
            "secret",
            r"\bbedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t[A-Za-z0-9+/]{20,}={0,2}",
            0.95,
            Gate::token(&["bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t"], 1),
            Samples {
                matches: &["bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/"],
                ignores: &[
                    ("bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t", "the prefix alone"),
                    ("bedrock-api-key-EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EXAMPLE0+example1/EXAMPLE2EX", "not a presigned Bedrock URL"),
                ],
            },
        )
    },
    // Azure AD (Entra ID) client secret: three characters, a version digit, `Q~`, 31–34
    // characters. `Q~` is two bytes but next to never occurs in text; the match starts four
    // bytes before it.
    Rule {
        before: Some(before_azure_secret),
        after: Some(after_azure_secret),
        ..secret(
            "secret-azure-ad-client-secret",
            "secret",
            r"[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}",
            0.9,
            Gate { min_digits: 1, ..Gate::anchors(&["Q~"]).lead(4) },
            Samples {
                matches: &["AZURE_CLIENT_SECRET=abc8Q~EXAMPLE0-example1_EXAMPLE0-example", "\"secret\": \"Ex78Q~EXAMPLE0example1EXAMPLE2example\""],
                ignores: &[
                    ("abc8Q~EXAMPLE0-example1_EX", "body shorter than 31"),
                    ("path/xabc8Q~EXAMPLE0-example1_EXAMPLE0-example", "inside a longer run"),
                ],
            },
        )
    },
    // Yandex Cloud OAuth token: `y0_` and 40–100 URL-safe characters.
    Rule {
        after: Some(after_not_word_minus),
        ..secret(
            "secret-yandex-oauth",
            "secret",
            r"\by0_[\w-]{40,100}",
            0.9,
            Gate::token(&["y0_"], 1),
            Samples {
                matches: &["Authorization: OAuth y0_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_E"],
                ignores: &[
                    ("y0_EXAMPLE0-example1_EX", "body shorter than 40"),
                    ("xy0_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_E", "the prefix inside a longer word"),
                ],
            },
        )
    },
    // Yandex Cloud IAM token: `t1.`, a part, `.`, 86 characters.
    Rule {
        after: Some(after_token_end),
        ..secret(
            "secret-yandex-iam",
            "secret",
            r"\bt1\.[\w-]+={0,2}\.[\w-]{86}={0,2}",
            0.9,
            Gate::token(&["t1."], 1),
            Samples {
                matches: &["Bearer t1.EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPL.EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-examp"],
                ignores: &[
                    ("t1.micro instance", "an instance type"),
                    ("t1.EXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-example1_EXAMPL.EXAMPLE0-example1_EXAMPLE0-example1_EXAM", "second part too short"),
                ],
            },
        )
    },
    // Yandex Cloud API key: `AQVN` and 35–38 URL-safe characters.
    Rule {
        after: Some(after_not_word_minus),
        check: Check::Valid(not_filler),
        ..secret(
            "secret-yandex-api-key",
            "secret",
            r"\bAQVN[\w-]{35,38}",
            0.9,
            Gate::token(&["AQVN"], 1),
            Samples {
                matches: &["Api-Key AQVNEXAMPLE0-example1_EXAMPLE0-example1_"],
                ignores: &[
                    ("AQVNEXAMPLE0-example1_EXAMPLE0-exa", "body shorter than 35"),
                    ("AQVNEXAMPLE0-example1_EXAMPLE0-example1_EXAMPLE0-", "body longer than 38"),
                ],
            },
        )
    },
];
