//! Headless Chromium and its WebDriver for the console test: Debian's
//! `chromium` and `chromium-driver`, installed with apt-get when missing
//! (as root, or with password-less sudo), else a clear failure saying how.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The paths of the browser and its driver, installing them first if
/// needed.
pub fn chromium() -> (PathBuf, PathBuf) {
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _once = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    let present = || std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
    if !present() {
        install();
    }
    assert!(
        present(),
        "the console test needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver"
    );
    (PathBuf::from(CHROMIUM), PathBuf::from(CHROMEDRIVER))
}

fn install() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let apt = |args: &[&str]| {
        let mut command = if root { Command::new("apt-get") } else { Command::new("sudo") };
        if !root {
            command.args(["-n", "apt-get"]);
        }
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        command.status().is_ok_and(|s| s.success())
    };
    eprintln!("installing chromium and chromium-driver with apt-get (once per machine)");
    let install = ["install", "-y", "--no-install-recommends", "chromium", "chromium-driver"];
    if !apt(&install) {
        // A fresh machine may not have package lists yet.
        let _ = apt(&["update"]);
        let _ = apt(&install);
    }
}
