//! `haechi proxy`: run the HTTP gateway in front of `target.upstream` until SIGINT/SIGTERM,
//! then drain within `limits.shutdownGraceMs`.

use std::path::Path;

use anyhow::{Context as _, Result};
use haechi_core::config::{Config, LogFormat};
use haechi_core::vocab::Mode;
use haechi_gateway::assembly::AssembledGateway;
use haechi_gateway::{Drain, Gateway, ListenOptions};
use serde_json::json;

use crate::runtime::{load_config, print_notice};

pub(crate) struct ProxyArgs<'a> {
    pub config: &'a Path,
    pub host: Option<&'a str>,
    pub port: Option<u16>,
    pub allow_remote_bind: bool,
}

pub(crate) fn run(args: &ProxyArgs<'_>) -> Result<u8> {
    let config = load_config(args.config)?;
    // The first worker runs here; the others get threads of their own (see `ListenOptions`).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("haechi-proxy")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config, args))
}

async fn serve(config: Config, args: &ProxyArgs<'_>) -> Result<u8> {
    haechi_gateway::logging::init(config.logging.format);
    let mut listen = ListenOptions::from_config(&config);
    if let Some(host) = args.host {
        listen.host = host.to_owned();
    }
    listen.port = args.port.unwrap_or(listen.port);
    listen.allow_remote_bind = args.allow_remote_bind;
    // One worker per core.
    listen.workers = std::thread::available_parallelism().map_or(1, usize::from);
    let format = config.logging.format;
    let upstream = config.target.upstream.clone();
    let mode = config.effective_mode();
    // An MCP target's answers follow mcp.protectResults, not responseProtection.
    let response_protection =
        config.response_protection.enabled || config.target.adapter_name() == Ok("mcp-http");
    let trust_forwarded_proto = config.proxy.trust_forwarded_proto;

    // Everything the config names, opened with the library's fail-closed rules; `guard`
    // flushes the audit log and releases the key budget once the server has drained.
    let AssembledGateway { gateway, guard } = Gateway::from_config_with(config, print_notice)?;
    let bound = haechi_gateway::bind(gateway, &listen).await?;
    let address = bound.local_addr();
    let scheme = if bound.is_tls() { "https" } else { "http" };

    let lines = StartupLines {
        json: format == LogFormat::Json,
    };
    lines.listening(scheme, &address.to_string(), &upstream, mode);
    if listen.allow_remote_bind {
        lines.remote_bind(bound.is_tls(), trust_forwarded_proto);
    }
    if mode != Mode::Enforce {
        lines.non_enforcing(mode);
    }
    if !response_protection {
        lines.response_protection_off();
    }

    let drain = bound.serve(shutdown_signal(lines)).await;
    // Everything queued reaches the log before the process exits.
    drop(guard);
    lines.stopped(drain);
    Ok(crate::commands::EXIT_OK)
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal(lines: StartupLines) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => lines.shutdown("SIGINT"),
                    _ = terminate.recv() => lines.shutdown("SIGTERM"),
                }
            }
            Err(_) => {
                let _ = interrupt.await;
                lines.shutdown("SIGINT");
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
        lines.shutdown("SIGINT");
    }
}

/// Print a line, ignoring a closed stream: the gateway keeps serving when whoever started it
/// stopped reading its output.
macro_rules! say_out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

macro_rules! say_err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// The lines the proxy prints about itself: the reference's text lines, or one JSON object
/// per event under `logging.format: json`. Operational fields only.
#[derive(Clone, Copy)]
struct StartupLines {
    json: bool,
}

impl StartupLines {
    fn event(self, level: &str, event: &str, fields: serde_json::Value) {
        let mut object = json!({ "level": level, "event": event });
        if let (Some(target), serde_json::Value::Object(extra)) = (object.as_object_mut(), fields) {
            target.extend(extra);
        }
        if level == "warn" {
            say_err!("{object}");
        } else {
            say_out!("{object}");
        }
    }

    fn listening(self, scheme: &str, address: &str, upstream: &str, mode: Mode) {
        if self.json {
            let (host, port) = address.rsplit_once(':').unwrap_or((address, ""));
            self.event(
                "info",
                "proxy_listening",
                json!({ "host": host, "port": port.parse::<u16>().ok(), "scheme": scheme,
                        "tls": scheme == "https", "upstream": upstream, "mode": mode.as_str(),
                        "version": haechi_gateway::VERSION }),
            );
        } else {
            say_out!("Haechi proxy listening on {scheme}://{address}");
            say_out!("Upstream: {upstream}");
            say_out!("Mode: {}", mode.as_str());
        }
    }

    fn remote_bind(self, tls: bool, trust_forwarded_proto: bool) {
        if self.json {
            self.event(
                "warn",
                "remote_bind_enabled",
                json!({ "tls": tls, "trustForwardedProto": trust_forwarded_proto }),
            );
        } else if tls {
            say_err!("warning: --allow-remote-bind serves beyond loopback (TLS terminated by Haechi); keep network access controls in front of it");
        } else {
            say_err!("warning: --allow-remote-bind serves plain http beyond loopback behind a trusted TLS terminator (proxy.trustForwardedProto); requests without X-Forwarded-Proto: https are refused; keep network access controls in front of it");
        }
    }

    fn non_enforcing(self, mode: Mode) {
        if self.json {
            self.event("warn", "non_enforce_mode", json!({ "mode": mode.as_str() }));
        } else {
            say_err!(
                "warning: policy mode is {}: payloads are inspected and audited but NOT changed or blocked; set policy.mode to \"enforce\" to protect traffic",
                mode.as_str()
            );
        }
    }

    fn response_protection_off(self) {
        if self.json {
            self.event("warn", "response_protection_disabled", json!({}));
        } else {
            say_err!("warning: responseProtection.enabled is false: upstream responses are relayed without inspection");
        }
    }

    fn shutdown(self, signal: &str) {
        if self.json {
            self.event("info", "proxy_shutdown", json!({ "signal": signal }));
        } else {
            say_err!("Haechi proxy: {signal} received, draining in-flight requests");
        }
    }

    fn stopped(self, drain: Drain) {
        let clean = drain == Drain::Clean;
        if self.json {
            self.event("info", "proxy_stopped", json!({ "drained": clean }));
        } else if clean {
            say_err!("Haechi proxy stopped (all in-flight requests finished)");
        } else {
            say_err!("Haechi proxy stopped (limits.shutdownGraceMs ran out; remaining connections were closed)");
        }
    }
}
