//! Debian packages the tests need (chromium, docker-registry), installed
//! with apt-get when missing (as root, or with password-less sudo), else a
//! clear failure saying what to install.

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// Makes sure every file of `files` exists, installing `packages` first
/// when one is missing.
pub fn ensure_installed(files: &[&str], packages: &[&str]) {
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    let present = || files.iter().all(|file| Path::new(file).exists());
    if !present() {
        install(packages);
    }
    assert!(present(), "the tests need Debian's {}: apt-get install {}", packages.join(", "), packages.join(" "));
}

fn install(packages: &[&str]) {
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
    eprintln!("installing {} with apt-get (once per machine)", packages.join(" "));
    let install: Vec<&str> = ["install", "-y", "--no-install-recommends"].iter().chain(packages).copied().collect();
    if !apt(&install) {
        // A fresh machine may not have package lists yet.
        let _ = apt(&["update"]);
        let _ = apt(&install);
    }
}
