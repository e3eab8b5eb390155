//! The `haechi` binary: parse arguments, run one command, map the result to an exit code.
//! Every error is one line on stderr (`haechi: <what is wrong and what to do>`).

mod cli;
mod commands;
mod output;
mod runtime;

use std::process::ExitCode;

use clap::Parser as _;

use cli::{Cli, Command};

// The gateway allocates per request on many threads; mimalloc keeps that cheap and flat.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(error),
    };
    match run(cli.command.unwrap_or(Command::Help { topic: None })) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            let message = format!("{error:#}").replace('\n', " ");
            runtime::print_err(format_args!("haechi: {message}"));
            ExitCode::from(1)
        }
    }
}

fn run(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Init { config, force } => commands::init::run(&config, force),
        Command::Protect {
            input,
            config,
            direction,
        } => commands::protect::run(&input, &config, direction),
        Command::Report { audit, config } => commands::report::run(audit.as_deref(), &config),
        Command::Status { config } => commands::status::run(&config),
        Command::AuditVerify {
            audit,
            anchor,
            config,
        } => commands::audit_verify::run(
            audit.as_deref(),
            anchor.as_ref().map(|path| path.as_deref()),
            &config,
        ),
        Command::AuditRepair { audit, config, yes } => {
            commands::audit_repair::run(audit.as_deref(), &config, yes)
        }
        Command::TokenReveal {
            token,
            config,
            allow_dev_reveal,
        } => commands::token::reveal(&token, &config, allow_dev_reveal),
        Command::TokenPurge {
            token,
            expired,
            config,
        } => commands::token::purge(token.as_deref(), expired, &config),
        Command::TokenExport {
            config,
            type_filter,
        } => commands::token::export(&config, type_filter.as_deref()),
        Command::PolicySign {
            policy,
            config,
            out,
        } => commands::policy_bundle::sign(policy.as_deref(), &config, &out),
        Command::PolicyVerify { bundle, config } => {
            commands::policy_bundle::verify(bundle.as_deref(), &config)
        }
        Command::Proxy {
            config,
            host,
            port,
            allow_remote_bind,
        } => commands::proxy::run(&commands::proxy::ProxyArgs {
            config: &config,
            host: host.as_deref(),
            port,
            allow_remote_bind,
        }),
        Command::McpStdio { config } => commands::mcp::stdio(&config),
        Command::McpWrap {
            config,
            stderr,
            stray,
            command,
        } => commands::mcp::wrap(&config, stderr.as_deref(), &stray, command),
        Command::Auth { action } => commands::auth::run(action),
        Command::Config => {
            print!("{}", haechi_core::config::CONFIG_GUIDE);
            Ok(commands::EXIT_OK)
        }
        Command::Demo => commands::demo::run(),
        Command::Help { topic } => match commands::help::help_text(topic.as_deref()) {
            Some(text) => {
                print!("{text}");
                Ok(commands::EXIT_OK)
            }
            None => anyhow::bail!(
                "Unknown command: {}. Known commands: {}",
                topic.unwrap_or_default(),
                commands::help::known_commands()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    }
}

/// Clap's errors become one line; `--help` and `--version` print normally.
fn usage_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    if let Some(message) = unknown_command(&error) {
        runtime::print_err(format_args!("haechi: {message}"));
        return ExitCode::from(1);
    }
    let rendered = error.render().to_string();
    let first = rendered
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string();
    runtime::print_err(format_args!("haechi: {first}; run 'haechi help' for usage"));
    ExitCode::from(1)
}

/// The reference's wording for an unknown command (scripts match on `Unknown command: <name>`),
/// plus clap's suggestion when one is close.
fn unknown_command(error: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if error.kind() != ErrorKind::InvalidSubcommand {
        return None;
    }
    let Some(ContextValue::String(name)) = error.get(ContextKind::InvalidSubcommand) else {
        return None;
    };
    let mut message = format!("Unknown command: {name}. Run 'haechi help' for usage.");
    if let Some(ContextValue::Strings(similar)) = error.get(ContextKind::SuggestedSubcommand) {
        // clap orders suggestions by rising confidence.
        if let Some(best) = similar.last() {
            message.push_str(&format!(" Did you mean '{best}'?"));
        }
    }
    Some(message)
}
