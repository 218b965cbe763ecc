//! Write-then-rename outputs.
//!
//! Every tool writes its outputs through [`AtomicFile`]: the bytes go to a temporary file
//! in the destination's directory (so the final rename never crosses a file system) and
//! the file appears under its name only when [`AtomicFile::commit`] is called. A run that
//! fails, is killed or panics leaves no partial output; the temporary file is removed when
//! the value is dropped.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// A file being written under a temporary name (or in place, see the module's note).
#[derive(Debug)]
pub struct AtomicFile {
    target: Target,
    dest: PathBuf,
}

#[derive(Debug)]
enum Target {
    Temporary(NamedTempFile),
    InPlace(File),
}

impl AtomicFile {
    /// Starts writing `dest`. Fails when its directory does not exist or is not writable.
    pub fn create(dest: &Path) -> Result<Self> {
        Self::create_with_suffix(dest, ".tmp")
    }

    /// [`AtomicFile::create`] with the temporary file's name ending in `suffix`, for
    /// writers that choose the format by the extension of a path (PNG encoders).
    pub fn create_with_suffix(dest: &Path, suffix: &str) -> Result<Self> {
        if std::fs::metadata(dest).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(dest)
                .with_context(|| format!("cannot write {}", dest.display()))?;
            return Ok(Self {
                target: Target::InPlace(file),
                dest: dest.to_path_buf(),
            });
        }
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            anyhow::bail!(
                "cannot write {}: directory {} does not exist (create it first)",
                dest.display(),
                dir.display()
            );
        }
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(suffix)
            .tempfile_in(&dir)
            .with_context(|| {
                format!(
                    "cannot write {}: cannot create a file in {}",
                    dest.display(),
                    dir.display()
                )
            })?;
        Ok(Self {
            target: Target::Temporary(tmp),
            dest: dest.to_path_buf(),
        })
    }

    /// The destination path.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// The path being written: the temporary file (or the destination when written in
    /// place), for writers that open a path themselves.
    pub fn path(&self) -> &Path {
        match &self.target {
            Target::Temporary(tmp) => tmp.path(),
            Target::InPlace(_) => &self.dest,
        }
    }

    /// A second handle on the temporary file, for writers that take ownership of a File.
    pub fn file(&self) -> Result<File> {
        match &self.target {
            Target::Temporary(tmp) => tmp.reopen(),
            Target::InPlace(file) => file.try_clone(),
        }
        .with_context(|| format!("cannot write {}", self.dest.display()))
    }

    /// A buffered writer on the temporary file.
    pub fn writer(&self) -> Result<BufWriter<File>> {
        Ok(BufWriter::with_capacity(1 << 20, self.file()?))
    }

    /// Moves the finished file to its destination.
    pub fn commit(self) -> Result<()> {
        let dest = self.dest.clone();
        let Target::Temporary(tmp) = self.target else {
            return Ok(());
        };
        tmp.as_file().sync_all().ok();
        tmp.persist(&dest)
            .map_err(|e| e.error)
            .with_context(|| format!("cannot write {}", dest.display()))?;
        Ok(())
    }
}

/// Writes `bytes` to `dest` atomically.
pub fn write_bytes(dest: &Path, bytes: &[u8]) -> Result<()> {
    let f = AtomicFile::create(dest)?;
    let mut w = f.writer()?;
    w.write_all(bytes)
        .with_context(|| format!("cannot write {}", dest.display()))?;
    w.flush()
        .with_context(|| format!("cannot write {}", dest.display()))?;
    drop(w);
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_appears_until_commit() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.csv");
        {
            let f = AtomicFile::create(&dest).unwrap();
            let mut w = f.writer().unwrap();
            w.write_all(b"half").unwrap();
            w.flush().unwrap();
            assert!(!dest.exists());
            // dropped without commit
        }
        assert!(!dest.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "temporary file left behind"
        );
        write_bytes(&dest, b"whole").unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"whole");
    }

    #[test]
    fn a_device_is_written_in_place_not_replaced() {
        use std::os::unix::fs::FileTypeExt;
        let null = Path::new("/dev/null");
        if !std::fs::metadata(null).is_ok_and(|m| m.file_type().is_char_device()) {
            eprintln!("note: /dev/null is not a character device here; skipping");
            return;
        }
        write_bytes(null, b"gone").unwrap();
        let f = AtomicFile::create(null).unwrap();
        f.writer().unwrap().write_all(b"gone too").unwrap();
        f.commit().unwrap();
        assert!(std::fs::metadata(null)
            .unwrap()
            .file_type()
            .is_char_device());
        let dir = Path::new("/dev");
        let left = std::fs::read_dir(dir).unwrap().flatten();
        let tmp: Vec<_> = left
            .filter(|e| e.file_name().to_string_lossy().starts_with(".null."))
            .collect();
        assert!(tmp.is_empty(), "temporary files left in /dev: {tmp:?}");
    }

    #[test]
    fn missing_directory_is_one_clear_error() {
        let err = AtomicFile::create(Path::new("/nonexistent-dir-xyz/out.parquet")).unwrap_err();
        assert!(format!("{err:#}").contains("directory /nonexistent-dir-xyz does not exist"));
    }
}
