//! Files the user names (reports, exports): never written through a symbolic link, never over an
//! existing file unless asked, and never left half-written.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Checks that `path` may be written: not a symbolic link, and not an existing file unless
/// `replace`. The error names the file.
pub fn check(path: &Path, replace: bool) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(std::io::Error::other(format!(
            "{}: is a symbolic link; not writing through it",
            path.display()
        ))),
        Ok(m) if !m.is_file() => Err(std::io::Error::other(format!(
            "{}: exists and is not a regular file",
            path.display()
        ))),
        Ok(_) if !replace => Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!(
                "{}: exists; nothing was written (--force replaces it)",
                path.display()
            ),
        )),
        _ => Ok(()),
    }
}

/// Writes `bytes` to `path` whole or not at all: into a new file beside it, synced, then renamed
/// over the target, so a full disk leaves an error and the old file, not a truncated one.
pub fn write(path: &Path, bytes: &[u8], replace: bool) -> std::io::Result<()> {
    write_with(path, replace, &mut |f| f.write_all(bytes))
}

/// [`write`] for output made as it is written (an export a tick at a time): `fill` writes it
/// through a buffer into the new file, which replaces the target only once it is whole.
pub fn write_with(
    path: &Path,
    replace: bool,
    fill: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    check(path, replace)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.{}.partial", std::process::id()));
    let written = (|| {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        let mut buf = std::io::BufWriter::with_capacity(1 << 16, f);
        fill(&mut buf)?;
        let f = buf.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_files_and_links_are_left_alone_unless_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("report.md");
        write(&p, b"one", false).expect("a new file");
        let e = write(&p, b"two", false).expect_err("exists");
        assert!(e.to_string().contains("--force"), "{e}");
        assert_eq!(std::fs::read(&p).expect("read"), b"one");
        write(&p, b"two", true).expect("replaced when asked");
        assert_eq!(std::fs::read(&p).expect("read"), b"two");
        #[cfg(unix)]
        {
            let target = dir.path().join("elsewhere");
            std::fs::write(&target, b"keep").expect("write");
            let link = dir.path().join("link.md");
            std::os::unix::fs::symlink(&target, &link).expect("symlink");
            assert!(write(&link, b"x", true).is_err());
            assert_eq!(std::fs::read(&target).expect("read"), b"keep");
        }
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("dir").count(),
            if cfg!(unix) { 3 } else { 1 },
            "no partial file left behind"
        );
    }
}
