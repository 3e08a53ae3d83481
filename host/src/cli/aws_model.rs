//! AWS API models on this machine, for `new --aws-service`: botocore (the
//! version the project's own connectors are generated from) installed once
//! from PyPI into a venv in the cache, and the project's generator run over
//! it. After the first time it works offline.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use serde::Deserialize;

/// The generator, as the repository's own connectors are made with.
const GENERATOR: &str = include_str!("../../../connector-sdk/codegen/aws.py");
/// botocore and its dependencies, pinned.
const LOCK: &str = include_str!("../../../connector-sdk/codegen/requirements.lock");

/// What the generator made.
#[derive(Debug, Deserialize)]
pub(super) struct Generated {
    /// The table (`src/model.rs`).
    #[serde(skip)]
    pub model: String,
    pub operations: usize,
    pub title: String,
    /// The service's API version (`2012-08-10`).
    pub version: String,
    /// An operation that only reads and needs no input, to try it with.
    pub read_operation: Option<String>,
}

/// Generates the table of `service` (a botocore service name), narrowed
/// to `operations` (comma-separated globs) when given.
pub(super) fn generate(service: &str, operations: Option<&str>) -> anyhow::Result<Generated> {
    let venv = models_venv()?;
    let python = venv.join("bin/python");
    let data = run_python(
        &python,
        &["-c", "import botocore, os; print(os.path.join(os.path.dirname(botocore.__file__), 'data'))"],
    )?;
    let generator = venv.join("aws.py");
    if std::fs::read_to_string(&generator).ok().as_deref() != Some(GENERATOR) {
        connector_host::files::write_atomically(&generator, GENERATOR.as_bytes())?;
    }
    let out = tempfile::Builder::new()
        .prefix("model-")
        .suffix(".rs")
        .tempfile_in(&venv)
        .context("could not make a file for the generated table")?;
    let mut args = vec![
        generator.to_str().context("a non-UTF-8 cache path")?,
        "--service",
        service,
        "--out",
        out.path().to_str().context("a non-UTF-8 cache path")?,
        "--data",
        data.trim(),
    ];
    if let Some(operations) = operations {
        args.extend(["--operations", operations]);
    }
    let summary = run_python(&python, &args)?;
    let mut generated: Generated =
        serde_json::from_str(summary.trim()).with_context(|| format!("the generator answered {summary:?}"))?;
    generated.model = std::fs::read_to_string(out.path()).context("could not read the generated table")?;
    Ok(generated)
}

/// The venv holding the pinned botocore, made on first use.
fn models_venv() -> anyhow::Result<PathBuf> {
    let home = connector_host::cache_home().context("no cache directory: neither XDG_CACHE_HOME nor HOME is set")?;
    let botocore =
        LOCK.lines().find_map(|line| line.strip_prefix("botocore==")).context("the lock pins no botocore")?;
    let venv = home.join(format!("aws-models-botocore-{}", botocore.trim()));
    if venv.join(".complete").exists() {
        return Ok(venv);
    }
    let python = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
    eprintln!("installing botocore's AWS API models from PyPI into {} (once)", venv.display());
    // Made beside its final place and renamed, so a failed or concurrent
    // install never leaves a half venv where the next run looks.
    std::fs::create_dir_all(&home).with_context(|| format!("could not create {}", home.display()))?;
    remove_stale_builds(&home);
    let building = tempfile::Builder::new().prefix(BUILD_PREFIX).tempdir_in(&home).context("could not make a venv")?;
    let status =
        Command::new(&python).args(["-m", "venv"]).arg(building.path()).status().with_context(|| {
            format!("could not run {python:?}: Python 3 with venv is needed to read AWS API models")
        })?;
    if !status.success() {
        bail!("{python:?} -m venv failed ({status}): Python 3 with venv is needed to read AWS API models");
    }
    let lock = building.path().join("requirements.lock");
    std::fs::write(&lock, LOCK).context("could not write the requirements")?;
    let status = Command::new(building.path().join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "--no-deps", "-r"])
        .arg(&lock)
        .status()
        .context("could not run pip")?;
    if !status.success() {
        bail!("pip could not install botocore ({status}); PyPI must be reachable the first time");
    }
    std::fs::write(building.path().join(".complete"), "").context("could not mark the venv complete")?;
    let building = building.keep();
    if let Err(e) = std::fs::rename(&building, &venv) {
        let _ = std::fs::remove_dir_all(&building);
        // Another run may have finished first: then its venv serves.
        if !venv.join(".complete").exists() {
            return Err(e).with_context(|| format!("could not move the new venv to {}", venv.display()));
        }
    }
    Ok(venv)
}

/// Where a venv is made before it is moved into place.
const BUILD_PREFIX: &str = ".aws-models-build-";

/// Removes venvs an install killed half-way left behind (a day old: not
/// one another run is making now).
fn remove_stale_builds(home: &Path) {
    let Ok(entries) = std::fs::read_dir(home) else { return };
    let day = std::time::Duration::from_secs(86_400);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let stale = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|age| age > day));
        if name.to_string_lossy().starts_with(BUILD_PREFIX) && stale {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Runs `python` with `args`; its standard output, or its own message
/// (the generator's names what is wrong) as the error.
fn run_python(python: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output =
        Command::new(python).args(args).output().with_context(|| format!("could not run {}", python.display()))?;
    if !output.status.success() {
        let message = String::from_utf8_lossy(&output.stderr);
        let message = message.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("it failed").trim();
        bail!("{message}");
    }
    for note in String::from_utf8_lossy(&output.stderr).lines().filter(|l| l.starts_with("note: ")) {
        eprintln!("{note}");
    }
    String::from_utf8(output.stdout).context("the generator's output is not UTF-8")
}
