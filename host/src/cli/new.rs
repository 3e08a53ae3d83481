//! `connector-host new`: a connector project to start from, in Rust,
//! Python or JavaScript, that builds on a fresh machine from the package
//! registries alone (the Rust one carries a copy of connector-sdk), with a
//! script that builds it, checks it and calls it against moto; for an
//! HTTP API (`--api`), or for a whole AWS service generated from its API
//! model (`--aws-service`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use crate::cli::emit;

/// Start a connector project in ./NAME.
#[derive(Debug, Args)]
pub(super) struct NewArgs {
    /// The connector's name (its manifest name and directory): a letter,
    /// then lower-case letters, digits and `-`.
    name: String,
    /// The language to write it in.
    #[arg(long, value_enum)]
    lang: Lang,
    /// Where to create the project directory (default: here).
    #[arg(long, value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// Start a connector for this HTTP API (its usual base URL,
    /// `https://api.github.com`) instead of AWS.
    #[arg(long, value_name = "URL", conflicts_with = "aws_service")]
    api: Option<String>,
    /// Generate a connector with every operation of this AWS service from
    /// its API model (botocore's name: `dynamodb`, `sqs`, `logs`); Rust
    /// only. Needs Python 3, and PyPI the first time.
    #[arg(long, value_name = "SERVICE")]
    aws_service: Option<String>,
    /// With --aws-service: only the operations matching these
    /// comma-separated globs of their snake_case names (`list_*,get_*`).
    #[arg(long, value_name = "GLOBS", requires = "aws_service")]
    operations: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Lang {
    Rust,
    Python,
    Js,
}

/// A file of a template: its path in the project, its text, and what
/// kind of file it is.
type File = (&'static str, &'static str, Kind);

/// What a written file is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    /// A script, made executable.
    Script,
}

const CONTRACT: File = ("wit/connector.wit", include_str!("../../../wit/connector.wit"), Kind::Text);

const RUST: &[File] = &[
    ("Cargo.toml", include_str!("../../templates/rust/Cargo.toml.template"), Kind::Text),
    ("rust-toolchain.toml", include_str!("../../templates/rust/rust-toolchain.toml"), Kind::Text),
    ("src/lib.rs", include_str!("../../templates/rust/src/lib.rs.template"), Kind::Text),
    ("test.sh", include_str!("../../templates/rust/test.sh"), Kind::Script),
    ("connector-sdk/Cargo.toml", include_str!("../../templates/sdk-Cargo.toml"), Kind::Text),
    ("connector-sdk/src/lib.rs", include_str!("../../../connector-sdk/src/lib.rs"), Kind::Text),
    ("connector-sdk/src/http.rs", include_str!("../../../connector-sdk/src/http.rs"), Kind::Text),
    ("connector-sdk/src/operations.rs", include_str!("../../../connector-sdk/src/operations.rs"), Kind::Text),
    ("connector-sdk/src/outputs.rs", include_str!("../../../connector-sdk/src/outputs.rs"), Kind::Text),
    ("connector-sdk/src/repeat.rs", include_str!("../../../connector-sdk/src/repeat.rs"), Kind::Text),
    ("connector-sdk/src/schema.rs", include_str!("../../../connector-sdk/src/schema.rs"), Kind::Text),
    ("connector-sdk/src/aws/mod.rs", include_str!("../../../connector-sdk/src/aws/mod.rs"), Kind::Text),
    ("connector-sdk/src/aws/json.rs", include_str!("../../../connector-sdk/src/aws/json.rs"), Kind::Text),
    ("connector-sdk/src/aws/query.rs", include_str!("../../../connector-sdk/src/aws/query.rs"), Kind::Text),
    ("connector-sdk/src/aws/rest_json.rs", include_str!("../../../connector-sdk/src/aws/rest_json.rs"), Kind::Text),
    ("connector-sdk/src/aws/model/mod.rs", include_str!("../../../connector-sdk/src/aws/model/mod.rs"), Kind::Text),
    ("connector-sdk/src/aws/model/cbor.rs", include_str!("../../../connector-sdk/src/aws/model/cbor.rs"), Kind::Text),
    (
        "connector-sdk/src/aws/model/events.rs",
        include_str!("../../../connector-sdk/src/aws/model/events.rs"),
        Kind::Text,
    ),
    ("connector-sdk/src/aws/model/input.rs", include_str!("../../../connector-sdk/src/aws/model/input.rs"), Kind::Text),
    ("connector-sdk/src/aws/model/pages.rs", include_str!("../../../connector-sdk/src/aws/model/pages.rs"), Kind::Text),
    ("connector-sdk/src/aws/model/query.rs", include_str!("../../../connector-sdk/src/aws/model/query.rs"), Kind::Text),
    ("connector-sdk/src/aws/model/rest.rs", include_str!("../../../connector-sdk/src/aws/model/rest.rs"), Kind::Text),
    ("connector-sdk/src/aws/model/time.rs", include_str!("../../../connector-sdk/src/aws/model/time.rs"), Kind::Text),
    ("connector-sdk/src/aws/model/xml.rs", include_str!("../../../connector-sdk/src/aws/model/xml.rs"), Kind::Text),
    (
        "connector-sdk/src/aws/model/schema.rs",
        include_str!("../../../connector-sdk/src/aws/model/schema.rs"),
        Kind::Text,
    ),
    (
        "connector-sdk/src/aws/model/universal.rs",
        include_str!("../../../connector-sdk/src/aws/model/universal.rs"),
        Kind::Text,
    ),
    (
        "connector-sdk/src/aws/retryable_codes.in",
        include_str!("../../../connector-sdk/src/aws/retryable_codes.in"),
        Kind::Text,
    ),
    (".gitignore", "target/\n.venv/\n", Kind::Text),
];

/// The test script of a project for an HTTP API: it builds (`{{build}}`)
/// and calls the component (`{{component}}`) against httpbin.
const TEST_API: File = ("test.sh", include_str!("../../templates/test-api.sh"), Kind::Script);

/// The Rust project for an HTTP API: these replace the AWS example.
const RUST_API: &[File] = &[
    ("src/lib.rs", include_str!("../../templates/rust/src/api.rs.template"), Kind::Text),
    TEST_API,
    (".gitignore", "target/\n.venv/\n.httpbin/\n.test-authentications.toml\n", Kind::Text),
];

/// The Python project for an HTTP API: these replace the AWS example.
const PYTHON_API: &[File] = &[
    ("app.py", include_str!("../../templates/python/app-api.py.template"), Kind::Text),
    TEST_API,
    (".gitignore", ".venv/\n.httpbin/\n*.wasm\n__pycache__/\n.test-authentications.toml\n", Kind::Text),
];

/// The JavaScript project for an HTTP API: these replace the AWS example.
const JS_API: &[File] = &[
    ("connector.js", include_str!("../../templates/js/connector-api.js.template"), Kind::Text),
    TEST_API,
    (".gitignore", "node_modules/\n.httpbin/\n*.wasm\n.test-authentications.toml\n", Kind::Text),
];

/// The Rust project for a generated AWS service: these replace the example.
const RUST_AWS_SERVICE: &[File] = &[
    ("src/lib.rs", include_str!("../../templates/rust/src/aws-service.rs.template"), Kind::Text),
    ("test.sh", include_str!("../../templates/rust/test-aws-service.sh"), Kind::Script),
    (".gitignore", "target/\n.venv/\n", Kind::Text),
];

const PYTHON: &[File] = &[
    ("app.py", include_str!("../../templates/python/app.py.template"), Kind::Text),
    ("build.sh", include_str!("../../templates/python/build.sh"), Kind::Script),
    ("test.sh", include_str!("../../templates/python/test.sh"), Kind::Script),
    (".gitignore", ".venv/\n.moto/\n*.wasm\n__pycache__/\n", Kind::Text),
];

const JS: &[File] = &[
    ("connector.js", include_str!("../../templates/js/connector.js.template"), Kind::Text),
    ("package.json", include_str!("../../templates/js/package.json.template"), Kind::Text),
    ("build.mjs", include_str!("../../templates/js/build.mjs"), Kind::Text),
    ("test.sh", include_str!("../../templates/js/test.sh"), Kind::Script),
    (".gitignore", "node_modules/\n.moto/\n*.wasm\n", Kind::Text),
];

pub(super) fn run(args: NewArgs) -> anyhow::Result<ExitCode> {
    let name = &args.name;
    let valid = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        bail!("`{name}` is not a connector name: a letter, then lower-case letters, digits and `-` (at most 64)");
    }
    let project = args.dir.join(name);
    if project.exists() {
        bail!("{} already exists", project.display());
    }
    let title: String = name
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ");
    if let Some(service) = &args.aws_service {
        return aws_service(&args, service, &project, &title);
    }
    let api = args.api.as_deref().map(api_of).transpose()?;
    let (files, for_api): (&[File], &[File]) = match (args.lang, &api) {
        (Lang::Rust, None) => (RUST, &[]),
        (Lang::Rust, Some(_)) => (RUST, RUST_API),
        (Lang::Python, None) => (PYTHON, &[]),
        (Lang::Python, Some(_)) => (PYTHON, PYTHON_API),
        (Lang::Js, None) => (JS, &[]),
        (Lang::Js, Some(_)) => (JS, JS_API),
    };
    let (build, component) = match args.lang {
        Lang::Rust => {
            ("cargo build --release --target wasm32-wasip2", "$(ls target/wasm32-wasip2/release/*.wasm | head -1)")
        }
        Lang::Python => ("./build.sh", "connector.wasm"),
        Lang::Js => ("npm install --no-audit --no-fund && npm run build", "connector.wasm"),
    };
    // A connector for an API declares it in `details`, which only the
    // `described-plugin` world exports.
    let world = if api.is_some() { "described-plugin" } else { "plugin" };
    let mut fill = vec![("{{name}}", name.as_str()), ("{{title}}", &title), ("{{world}}", world)];
    if let Some((api, url)) = &api {
        fill.extend([
            ("{{api}}", api.as_str()),
            ("{{api_url}}", url),
            ("{{build}}", build),
            ("{{component}}", component),
        ]);
    }
    // A project for an API: its files replace the AWS example's.
    write_project(&project, files, for_api, &fill)?;
    write(&project.join("README.md"), &readme(name, args.lang), Kind::Text)?;
    emit(&format!("created {} ({:?}); next: cd {} && ./test.sh", project.display(), args.lang, project.display()));
    Ok(ExitCode::SUCCESS)
}

/// `new NAME --aws-service SERVICE`: the generated table first (so a
/// service botocore does not have, or a protocol not generated yet, leaves
/// no directory behind), then the Rust project around it.
fn aws_service(args: &NewArgs, service: &str, project: &Path, title: &str) -> anyhow::Result<ExitCode> {
    if !matches!(args.lang, Lang::Rust) {
        bail!("--aws-service makes Rust projects (the table is connector-sdk's); use --lang rust");
    }
    let generated = super::aws_model::generate(service, args.operations.as_deref())?;
    let name = &args.name;
    let crate_name = name.replace('-', "_");
    let fill = [
        ("{{name}}", name.as_str()),
        ("{{title}}", title),
        ("{{world}}", "plugin"),
        ("{{service}}", service),
        ("{{service_title}}", &generated.title),
        ("{{api_version}}", &generated.version),
        ("{{crate}}", &crate_name),
        // Empty when nothing reads without input: test.sh then builds and checks only.
        ("{{read_operation}}", generated.read_operation.as_deref().unwrap_or_default()),
    ];
    write_project(project, RUST, RUST_AWS_SERVICE, &fill)?;
    write(&project.join("src/model.rs"), &generated.model, Kind::Text)?;
    write(&project.join("README.md"), &aws_readme(name, service, &generated), Kind::Text)?;
    emit(&format!(
        "created {} ({}: {} operations); next: cd {} && ./test.sh",
        project.display(),
        generated.title,
        generated.operations,
        project.display()
    ));
    Ok(ExitCode::SUCCESS)
}

fn aws_readme(name: &str, service: &str, generated: &super::aws_model::Generated) -> String {
    let component = format!("target/wasm32-wasip2/release/{}.wasm", name.replace('-', "_"));
    let try_it = generated.read_operation.as_deref().unwrap_or("OPERATION --input '{...}'");
    format!(
        "# {name}\n\nA connector for connector-host with {} operations of {} (`{service}` {}), generated from \
         its API model\nby `connector-host new --aws-service {service}`. `src/model.rs` is the generated table; its \
         operation\ndescriptions are the model's documentation (botocore, Apache License 2.0).\n\n    \
         cargo build --release --target wasm32-wasip2\n    connector-host check {component}\n    \
         connector-host describe {component}\n    connector-host invoke {component} {try_it}\n\n\
         `./test.sh` builds, checks and calls it against moto (a local AWS emulator, installed from PyPI;\n\
         it does not emulate every service); set CONNECTOR_HOST to the connector-host binary if it is not on\n\
         PATH. The host signs every request; the connector never sees a key.\n",
        generated.operations, generated.title, generated.version
    )
}

/// The API name and base URL of `--api URL`: the name from the URL's host
/// (`api.github.com` → `github`), the URL checked to be http(s).
fn api_of(url: &str) -> anyhow::Result<(String, String)> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("--api {url:?} is not a URL"))?;
    let host = parsed.host_str().filter(|_| matches!(parsed.scheme(), "http" | "https"));
    let host = host.with_context(|| format!("--api {url:?} must be an http(s) URL with a host"))?;
    let labels: Vec<&str> = host.split('.').filter(|l| !["api", "www"].contains(l)).collect();
    let name: String =
        labels.first().unwrap_or(&"api").chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let name =
        if name.starts_with(|c: char| c.is_ascii_alphabetic()) { name.to_ascii_lowercase() } else { "api".into() };
    Ok((name.chars().take(64).collect(), url.trim_end_matches('/').to_owned()))
}

/// Writes the files of `base`, those of `replacing` in place of any of
/// the same path, and the contract into `project`, each `{{placeholder}}`
/// of `fill` filled in (but in the files copied as they are).
fn write_project(project: &Path, base: &[File], replacing: &[File], fill: &[(&str, &str)]) -> anyhow::Result<()> {
    let replaced = |path: &str| replacing.iter().any(|(ours, ..)| *ours == path);
    for (path, text, kind) in base.iter().filter(|(path, ..)| !replaced(path)).chain(replacing).chain([&CONTRACT]) {
        let text = match is_copied(path) {
            true => (*text).to_owned(),
            false => {
                fill.iter().fold((*text).to_owned(), |text, (placeholder, value)| text.replace(placeholder, value))
            }
        };
        write(&project.join(path), &text, *kind)?;
    }
    Ok(())
}

/// Whether a template file is copied as it is: the SDK and the contract,
/// whose sources may hold anything that looks like a `{{placeholder}}`
/// (a format string of the SDK's once did).
fn is_copied(path: &str) -> bool {
    path.starts_with("connector-sdk/") || path.starts_with("wit/")
}

fn write(path: &Path, text: &str, kind: Kind) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("could not create {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("could not write {}", path.display()))?;
    #[cfg(unix)]
    if kind == Kind::Script {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("could not make {} executable", path.display()))?;
    }
    Ok(())
}

fn readme(name: &str, lang: Lang) -> String {
    let (build, component) = match lang {
        Lang::Rust => (
            "cargo build --release --target wasm32-wasip2",
            format!("target/wasm32-wasip2/release/{}.wasm", name.replace('-', "_")),
        ),
        Lang::Python => ("./build.sh   # componentize-py from PyPI, into .venv", "connector.wasm".to_owned()),
        Lang::Js => ("npm install && npm run build   # componentize-js from npm", "connector.wasm".to_owned()),
    };
    format!(
        "# {name}\n\nA connector for connector-host, implementing `wit/connector.wit`.\n\n    {build}\n    \
         connector-host check {component}\n    connector-host invoke {component} hello --input '{{\"name\": \"you\"}}'\n\n\
         `./test.sh` builds, checks and calls it against moto (a local AWS emulator, installed from PyPI);\n\
         set CONNECTOR_HOST to the connector-host binary if it is not on PATH. See the authoring guide\n\
         of connector-host (docs/authoring.md) for who checks what, errors and `retryable`, and testing.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_is_named_by_its_host() {
        assert_eq!(api_of("https://api.github.com/").unwrap(), ("github".into(), "https://api.github.com".into()));
        assert_eq!(api_of("https://weather.example.com/v2").unwrap().0, "weather");
        assert_eq!(api_of("http://127.0.0.1:8080").unwrap().0, "api");
        assert!(api_of("ftp://x.example").is_err());
        assert!(api_of("not a url").is_err());
    }

    /// The Rust template carries a copy of connector-sdk: every source file
    /// of it (one left out once broke every new project's build).
    #[test]
    fn the_rust_template_carries_every_sdk_source() {
        let sdk = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../connector-sdk/src");
        let mut pending = vec![sdk.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let relative = path.strip_prefix(&sdk).unwrap().display().to_string();
                let in_template = format!("connector-sdk/src/{relative}");
                assert!(RUST.iter().any(|(name, ..)| *name == in_template), "{in_template} is not in the template");
            }
        }
    }

    /// The SDK and the contract are copied byte for byte: a `{{name}}` in
    /// their sources is code, not a placeholder.
    #[test]
    fn the_sdk_and_the_contract_are_copied_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let args = NewArgs {
            name: "copies".into(),
            lang: Lang::Rust,
            dir: dir.path().to_owned(),
            api: None,
            aws_service: None,
            operations: None,
        };
        run(args).unwrap();
        let project = dir.path().join("copies");
        for (path, text, _) in RUST.iter().chain([&CONTRACT]).filter(|(path, ..)| is_copied(path)) {
            assert_eq!(std::fs::read_to_string(project.join(path)).unwrap(), *text, "{path}");
        }
        assert!(is_copied("connector-sdk/src/aws/model/rest.rs") && !is_copied("src/lib.rs"));
    }
}
