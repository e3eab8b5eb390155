//! `haechi help [command]`: usage for every command, in one table.

struct CommandHelp {
    name: &'static str,
    usage: &'static str,
    summary: &'static str,
    detail: &'static str,
}

const COMMANDS: &[CommandHelp] = &[
    CommandHelp {
        name: "init",
        usage: "haechi init [--config haechi.config.json] [--force]",
        summary: "Create a local key and a default config.",
        detail: "Writes haechi.config.json and the key file named by keys.keyFile (mode 0600). \
                 An existing config is kept and its key file checked. --force rotates the key: a new \
                 active key is created and earlier keys are retired but kept, so everything they \
                 encrypted still decrypts; the config is rewritten with defaults.",
    },
    CommandHelp {
        name: "protect",
        usage: "haechi protect <input.json> [--config haechi.config.json] [--direction request|response]",
        summary: "Detect and protect PII and secrets in a JSON file; print the result.",
        detail: "Prints ok, mode, enforced, blocked, auditId, summary, payload and warnings as JSON \
                 and appends one audit event. In dry-run and report-only the payload is unchanged. \
                 Exit code 3 when the policy blocks the payload.",
    },
    CommandHelp {
        name: "mcp-stdio",
        usage: "haechi mcp-stdio [--config haechi.config.json]",
        summary: "Filter newline-delimited MCP JSON-RPC from stdin to stdout.",
        detail: "Each message is checked (JSON-RPC 2.0, mcp.allowedMethods) and its params, result \
                 and error are protected; refusals and blocks are written to stdout in place of \
                 the message, as JSON-RPC errors. Every protection and refusal is audited.",
    },
    CommandHelp {
        name: "mcp-wrap",
        usage: "haechi mcp-wrap [--config haechi.config.json] [--stderr filter|drop|inherit] -- <command> [args...]",
        summary: "Run an MCP server and protect both directions of its stdio.",
        detail: "Point the MCP client at this command instead of the server. Client messages are \
                 checked against mcp.allowedMethods; both directions are protected; an error goes \
                 to whichever side waits for it. --stderr filter (default) protects each line the \
                 server writes to stderr, drop discards them, inherit passes them raw. SIGINT and \
                 SIGTERM are passed on; the server's exit code becomes haechi's.",
    },
    CommandHelp {
        name: "proxy",
        usage: "haechi proxy [--config haechi.config.json] [--host 127.0.0.1] [--port 11016] [--allow-remote-bind]",
        summary: "Run the HTTP gateway in front of the upstream model server.",
        detail: "Protects every JSON request before it reaches target.upstream and, with \
                 responseProtection, every JSON response before it reaches the client; every \
                 decision is audited. Binds loopback by default. A non-loopback --host needs \
                 --allow-remote-bind (a command-line flag, never config) and then proxy.tls \
                 (keyFile + certFile, or pfxFile) or proxy.trustForwardedProto: true behind a \
                 trusted TLS terminator. Health: GET /__haechi/live, /ready, /health, /metrics. \
                 SIGINT/SIGTERM drains in-flight requests within limits.shutdownGraceMs.",
    },
    CommandHelp {
        name: "auth",
        usage: "haechi auth add --type user|service|agent [--scope S ...] [--label k=v ...] [--config haechi.config.json]\n  haechi auth list [--config haechi.config.json]\n  haechi auth revoke <id> [--config haechi.config.json]",
        summary: "Manage the gateway's bearer tokens (stored hashed in auth.store).",
        detail: "Tokens are kept only as keyed-HMAC hashes in auth.store (default .haechi/auth.json, \
                 mode 0600). `add` prints the token once; it cannot be shown again. `list` never \
                 shows tokens or hashes; `revoke` disables a token by id and takes effect on the \
                 running gateway's next request. Used when auth.provider is \"bearer\".",
    },
    CommandHelp {
        name: "report",
        usage: "haechi report [--audit .haechi/audit.jsonl] [--config haechi.config.json]",
        summary: "Summarize the audit log without any payload values.",
        detail: "Counts by type, action, decision, operation, protocol and mode, and how many \
                 payloads were blocked.",
    },
    CommandHelp {
        name: "audit-verify",
        usage: "haechi audit-verify [--audit .haechi/audit.jsonl] [--anchor [path]] [--config haechi.config.json]",
        summary: "Verify the audit hash chain; print validity, record count and head hash.",
        detail: "Exit code 4 when the chain is broken; the reason names the line and sequence of the \
                 first bad record (a modified, reordered or deleted record). With --anchor, or \
                 audit.anchor.mode \"file\" in the config, the anchor stream is cross-checked so \
                 deleting records from the end is detected too. Keep the anchor on separate or \
                 append-only storage: whoever can truncate both files together can hide a truncation.",
    },
    CommandHelp {
        name: "audit-repair",
        usage: "haechi audit-repair [--audit .haechi/audit.jsonl] [--config haechi.config.json] [--yes]",
        summary: "Cut an incomplete last record (a crash or full disk mid-write) off the audit log.",
        detail: "Without --yes, shows the torn record's line, offset and size and whether the records \
                 before it verify, and exits 4; nothing is changed. With --yes, under the writers' \
                 lock, saves the torn bytes to <log>.torn-<unix seconds> (0600) and truncates the \
                 log before them. Refuses when the records before the tail do not verify: damage \
                 elsewhere is for audit-verify to locate and a person to judge.",
    },
    CommandHelp {
        name: "status",
        usage: "haechi status [--config haechi.config.json]",
        summary: "Show what is and is not protected under the current config.",
        detail: "Prints the effective mode, response and streaming protection, target, token vault \
                 governance, key file state and permissions, audit log state, and warnings.",
    },
    CommandHelp {
        name: "token-reveal",
        usage: "haechi token-reveal <token> [--config haechi.config.json] [--allow-dev-reveal]",
        summary: "Reveal a tokenized value (governed by tokenVault.revealPolicy; audited).",
        detail: "Refused unless tokenVault.revealPolicy is local-dev or --allow-dev-reveal is \
                 passed. Accepts tok_… or the [TOKEN:tok_…] marker. Every decision (denied, \
                 allowed, or failed as unknown, expired or undecryptable) is written to the audit \
                 log with the token id, never the value. Prints ok, token, type and plaintext.",
    },
    CommandHelp {
        name: "token-purge",
        usage: "haechi token-purge <token> [--config haechi.config.json]\n  haechi token-purge --expired [--config haechi.config.json]",
        summary: "Purge a specific token, or all expired tokens with --expired.",
        detail: "Audited. Expired tokens are also pruned on every vault write.",
    },
    CommandHelp {
        name: "token-export",
        usage: "haechi token-export [--config haechi.config.json] [--type email]",
        summary: "Export token metadata (never plaintext), optionally filtered by type.",
        detail: "Lists token, type, createdAt, expiresAt and metadata (path, ruleId) per token. A \
                 reference vault file at tokenVault.path (.haechi/token-vault.json) is imported \
                 into the SQLite vault beside it the first time any token command runs, and again \
                 only when that file changes.",
    },
    CommandHelp {
        name: "policy-sign",
        usage: "haechi policy-sign <policy.json> [--config haechi.config.json] [--out policy.bundle.json]",
        summary: "Sign a policy file into a verifiable bundle.",
        detail: "Checks the policy as a policy section, signs it (HS256 under a key derived from \
                 the active key of keys.keyFile) and writes the bundle. Prints ok, command, \
                 outPath, kid and signedAt. Point policy.bundlePath at the bundle to use it.",
    },
    CommandHelp {
        name: "policy-verify",
        usage: "haechi policy-verify <policy.bundle.json> [--config haechi.config.json]",
        summary: "Verify a signed policy bundle against the configured key.",
        detail: "Any key of keys.keyFile verifies, so bundles signed before a rotation still do. \
                 Prints the kid, signedAt and policy on success; exits 1 when the bundle was \
                 changed, was signed with another key file, or its policy is invalid. With \
                 policy.bundlePath set, every command verifies the bundle at start and refuses \
                 to run if it fails; the bundle's policy replaces the inline one, keeping the \
                 config's mode (policy.mode, else mode).",
    },
    CommandHelp {
        name: "config",
        usage: "haechi config",
        summary: "Print the configuration guide (every key, its default and allowed values).",
        detail: "",
    },
    CommandHelp {
        name: "demo",
        usage: "haechi demo",
        summary: "Protect a sample chat payload end to end in a temporary directory.",
        detail: "Creates a temporary config and key, protects a chat message carrying an email, a \
                 Korean mobile number, an API key and a card number in enforce mode, and prints the \
                 payload before and after and the audit summary. Touches nothing outside the \
                 temporary directory.",
    },
    CommandHelp {
        name: "help",
        usage: "haechi help [command]",
        summary: "Show usage for all commands or one command.",
        detail: "",
    },
];

/// The help text for `topic`, or the overview. `None` when the topic is unknown.
pub(crate) fn help_text(topic: Option<&str>) -> Option<String> {
    match topic {
        Some(name) => COMMANDS.iter().find(|c| c.name == name).map(|c| {
            let mut text = format!(
                "haechi {} — {}\n\nUsage:\n  {}\n",
                c.name, c.summary, c.usage
            );
            if !c.detail.is_empty() {
                text.push('\n');
                text.push_str(c.detail);
                text.push('\n');
            }
            text
        }),
        None => {
            let mut text = String::from(
                "Haechi — protect PII and secrets in AI traffic\n\nUsage:\n  haechi <command> [options]\n  haechi help <command>     usage for one command\n\nCommands:\n",
            );
            for command in COMMANDS {
                text.push_str(&format!("  {:<16}{}\n", command.name, command.summary));
            }
            text.push_str(
                "\nGetting started:\n  haechi init               write a config and a local key\n  haechi status             see what is protected\n  haechi demo               watch a payload get protected\n\nThe default mode is dry-run (detect and audit only). Set \"mode\" and \"policy.mode\" to\n\"enforce\" to transform or block.\n",
            );
            Some(text)
        }
    }
}

pub(crate) fn known_commands() -> impl Iterator<Item = &'static str> {
    COMMANDS.iter().map(|c| c.name)
}

#[cfg(test)]
#[path = "tests/help.rs"]
mod tests;
