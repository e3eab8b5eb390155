use super::*;
use std::os::unix::fs::{symlink, PermissionsExt as _};
use std::time::SystemTime;

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn temp_names_match_exactly_our_pattern() {
    let name = "dev.keys.json";
    assert_eq!(temp_pid(".dev.keys.json.123-0badc0de.tmp", name), Some(123));
    for other in [
        "dev.keys.json.123-0badc0de.tmp",          // no leading dot
        ".dev.keys.json.123-0BADC0DE.tmp",         // upper-case hex is never written
        ".dev.keys.json.123-0badc0d.tmp",          // seven hex digits
        ".dev.keys.json.123-0badc0de0.tmp",        // nine
        ".dev.keys.json.-0badc0de.tmp",            // no pid
        ".dev.keys.json.12a-0badc0de.tmp",         // pid not a number
        ".dev.keys.json.123-0badc0de.tmp~",        // another suffix
        ".dev.keys.json.123-0badc0de",             // no suffix
        ".xdev.keys.json.123-0badc0de.tmp",        // another file
        ".dev.keys.json.lock",                     // the lock
        ".dev.keys.json.99999999999-0badc0de.tmp", // pid out of range
    ] {
        assert_eq!(temp_pid(other, name), None, "{other}");
    }
}

#[test]
fn writes_go_through_a_symlink_to_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real").join("keys.json");
    fs::create_dir(real.parent().unwrap()).unwrap();
    fs::write(&real, "old").unwrap();
    let link = dir.path().join("link.json");
    symlink(&real, &link).unwrap();

    write_private_file_atomic(&link, b"new").unwrap();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(fs::read_to_string(&real).unwrap(), "new");
    assert_eq!(
        fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(names(dir.path()), vec!["link.json", "real"]);
    assert_eq!(names(real.parent().unwrap()), vec!["keys.json"]);

    // The lock of the link and of its target is one file, beside the target.
    drop(lock(&link).unwrap());
    assert_eq!(
        names(real.parent().unwrap()),
        vec![".keys.json.lock", "keys.json"]
    );

    let dangling = dir.path().join("dangling.json");
    symlink(dir.path().join("nowhere.json"), &dangling).unwrap();
    assert!(write_private_file_atomic(&dangling, b"x").is_err());
    assert!(!dir.path().join("nowhere.json").exists());
}

#[test]
fn only_stale_temp_copies_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys.json");
    fs::write(&path, "{}").unwrap();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let live = std::process::id();
    let make = |name: String| {
        let temp = dir.path().join(name);
        fs::write(&temp, "copy").unwrap();
        temp
    };
    let dead_temp = make(format!(".keys.json.{dead}-00000000.tmp"));
    let old_temp = make(format!(".keys.json.{live}-11111111.tmp"));
    fs::File::options()
        .write(true)
        .open(&old_temp)
        .unwrap()
        .set_modified(SystemTime::now() - STALE_AFTER - Duration::from_secs(1))
        .unwrap();
    let live_temp = make(format!(".keys.json.{live}-22222222.tmp"));
    let dir_temp = dir.path().join(format!(".keys.json.{dead}-33333333.tmp"));
    fs::create_dir(&dir_temp).unwrap();

    assert_eq!(remove_stale_temps(&path), 2);
    assert!(!dead_temp.exists() && !old_temp.exists());
    assert!(live_temp.exists(), "a write in flight is never removed");
    assert!(dir_temp.is_dir(), "only regular files are removed");
    assert_eq!(remove_stale_temps(&path), 0);
}
