//! Headless Chromium and its WebDriver for the console test: Debian's
//! `chromium` and `chromium-driver`.

use std::path::PathBuf;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The paths of the browser and its driver, installing them first if
/// needed.
pub fn chromium() -> (PathBuf, PathBuf) {
    crate::debian::ensure_installed(&[CHROMIUM, CHROMEDRIVER], &["chromium", "chromium-driver"]);
    (PathBuf::from(CHROMIUM), PathBuf::from(CHROMEDRIVER))
}
