//! Reading the files an operator points the host at (components, inputs,
//! workflows) with a size cap, refusing anything that is not a regular
//! file.
//!
//! Guards against a path that names a device (`/dev/zero` would be read
//! until memory runs out), a FIFO (opening it would block forever), a
//! directory, or a file too large to be what it claims, including one that
//! grows while it is read.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};

/// Reads the regular file at `path`, at most `limit` bytes; `what` names
/// the file in errors ("component", "input file") and `flag` the option
/// that raises the limit.
pub fn read_capped(path: &Path, limit: u64, what: &str, flag: &str) -> anyhow::Result<Vec<u8>> {
    let file = open_regular(path, what)?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > limit {
        bail!("the {what} {} is {size} bytes, over the limit of {limit} ({flag} raises it)", path.display());
    }
    read_to_limit(file, limit).with_context(|| format!("could not read the {what} {}", path.display()))?.map_or_else(
        || {
            bail!(
                "the {what} {} grew past the limit of {limit} bytes while it was read ({flag} raises it)",
                path.display()
            )
        },
        Ok,
    )
}

/// Reads everything `reader` gives, or `None` when that is more than
/// `limit` bytes.
pub fn read_to_limit(reader: impl Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// Opens `path` for reading without blocking on a FIFO, and checks that it
/// is a regular file.
fn open_regular(path: &Path, what: &str) -> anyhow::Result<File> {
    // Refused before it is opened where that is known: opening some
    // devices does something.
    if let Ok(metadata) = std::fs::metadata(path)
        && !metadata.is_file()
    {
        let kind = metadata.file_type();
        bail!("the {what} {} is not a regular file (it is {})", path.display(), describe_kind(&kind));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening a FIFO for reading would wait for a writer; non-blocking,
        // it opens at once and the check below refuses it.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).with_context(|| format!("could not open the {what} {}", path.display()))?;
    let kind = file.metadata().with_context(|| format!("could not read the {what} {}", path.display()))?.file_type();
    if !kind.is_file() {
        bail!("the {what} {} is not a regular file (it is {})", path.display(), describe_kind(&kind));
    }
    Ok(file)
}

fn describe_kind(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() { "a directory" } else { "not a plain file" }
}

/// Writes `bytes` to `path` through a temporary file in the same directory,
/// synced, and a rename, so a reader never sees a torn file, also after a
/// crash; the file is owner-only (0600), and the directory is created
/// owner-only (0700) if it is missing.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let dir = path.parent().context("a file to write has a directory")?;
    create_private_dir(dir)?;
    // Unique per process and per write, so two writers of one file (in one
    // process or several) never write the same temporary file.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let write = WRITES.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{}.{write}.{name}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temp).and_then(|mut file| {
        std::io::Write::write_all(&mut file, bytes)?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e).with_context(|| format!("could not write {}", temp.display()));
    }
    std::fs::rename(&temp, path)
        .with_context(|| format!("could not rename {} to {}", temp.display(), path.display()))?;
    // The rename itself survives a crash only once its directory is synced.
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|dir| dir.sync_all())
        .with_context(|| format!("could not sync {}", dir.display()))?;
    Ok(())
}

/// Creates `dir` and its parents, owner-only (0700) on Unix.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| format!("could not create {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_directories_and_fifos_are_refused_at_once() {
        let err = read_capped(Path::new("/dev/zero"), 1 << 20, "component", "--x").unwrap_err();
        assert!(err.to_string().contains("is not a regular file (it is a device)"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let err = read_capped(dir.path(), 1 << 20, "input file", "--x").unwrap_err();
        assert!(err.to_string().contains("(it is a directory)"), "{err}");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let err = read_capped(&fifo, 1 << 20, "workflow", "--x").unwrap_err();
        assert!(err.to_string().contains("(it is a FIFO)"), "{err}");
    }

    #[test]
    fn size_is_capped_before_and_while_reading() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.wasm");
        std::fs::File::create(&big).unwrap().set_len(10_000_000_000).unwrap();
        let err = read_capped(&big, 1 << 20, "component", "--max-component-bytes").unwrap_err();
        assert!(
            err.to_string().contains("10000000000 bytes, over the limit of 1048576 (--max-component-bytes"),
            "{err}"
        );
        let small = dir.path().join("small.json");
        std::fs::write(&small, b"{}").unwrap();
        assert_eq!(read_capped(&small, 2, "input file", "--x").unwrap(), b"{}");
        assert_eq!(read_to_limit(&b"abc"[..], 2).unwrap(), None);
        assert_eq!(read_to_limit(&b"ab"[..], 2).unwrap(), Some(b"ab".to_vec()));
    }
}
