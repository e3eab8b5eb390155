//! Shared by the CLI integration tests.

use std::path::Path;

use assert_cmd::Command;

/// The `haechi` binary run in `dir`, with the config overlay variables cleared so the
/// developer's environment cannot change a test's outcome.
pub(crate) fn haechi(dir: &Path) -> Command {
    let mut command = match Command::cargo_bin("haechi") {
        Ok(command) => command,
        Err(error) => panic!("the haechi binary is not built: {error}"),
    };
    command.current_dir(dir);
    for var in haechi_core::config::ENV_OVERLAY_VARS {
        command.env_remove(var);
    }
    command
}
