//! Write-then-rename outputs, and the cleanup of temporary files on a signal.
//!
//! Every tool writes its outputs through [`AtomicFile`]: the bytes go to a temporary file
//! in the destination's directory (so the final rename never crosses a file system) and
//! the file appears under its name only when [`AtomicFile::commit`] is called. A run that
//! fails or panics leaves no partial output; the temporary file is removed when the value
//! is dropped.
//!
//! A run stopped by SIGINT or SIGTERM runs no destructor, so the temporary files are also
//! kept in a process-wide registry: every [`AtomicFile`] and every [`Spool`] (a scratch
//! copy of a stream in `$TMPDIR`) registers its path while it exists. The first one
//! installs, once, a handler for the two signals (the `signal-hook` crate: the signal
//! only wakes a thread, which then removes every registered file and exits with
//! 128 + the signal's number, 130 for SIGINT and 143 for SIGTERM, as a shell reports a
//! process killed by them). A file is created and registered under the registry's lock,
//! so a signal cannot fall between the two. SIGKILL cannot be caught: after it a
//! `.NAME.XXXXXX.tmp` beside the output may remain.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once};
use tempfile::NamedTempFile;

/// The temporary files this process has created and not yet renamed or removed.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The registry, whatever a panicking holder left it as (a list of paths stays valid).
fn live() -> MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Installs the SIGINT/SIGTERM cleanup, once per process. When the handler cannot be
/// installed (no thread can be started) the signals keep their default action.
fn install_signal_cleanup() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            return;
        };
        let spawned = std::thread::Builder::new()
            .name("gradscope-signals".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    remove_live_files();
                    // _exit, not exit: the other threads are still running (libtorch
                    // among them), and exit's static destructors under their feet can
                    // crash the process (a segfault instead of 130 in dump-grads
                    // interrupted while loading). Nothing is left to flush: the outputs
                    // are temporary files, removed above.
                    // SAFETY: _exit takes no pointers and does not return.
                    #[allow(unsafe_code)]
                    unsafe {
                        libc::_exit(128 + signal)
                    }
                }
            });
        drop(spawned);
    });
}

/// Removes every registered temporary file (the signal path; errors are ignored, the
/// process is exiting).
fn remove_live_files() {
    for path in live().drain(..) {
        let _ = std::fs::remove_file(path);
    }
}

/// A path in the registry for as long as this value lives.
#[derive(Debug)]
struct Registration(PathBuf);

impl Registration {
    /// Creates a temporary file with `create` and registers its path, under the lock.
    fn create(
        create: impl FnOnce() -> std::io::Result<NamedTempFile>,
    ) -> std::io::Result<(NamedTempFile, Registration)> {
        install_signal_cleanup();
        let mut live = live();
        let file = create()?;
        let path = file.path().to_path_buf();
        live.push(path.clone());
        Ok((file, Registration(path)))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut live = live();
        if let Some(i) = live.iter().position(|p| *p == self.0) {
            live.swap_remove(i);
        }
    }
}

/// The paths of the temporary files this process holds now (for tests and diagnostics).
pub fn live_temporary_files() -> Vec<PathBuf> {
    live().clone()
}

/// A scratch file in the temporary directory (`$TMPDIR`, else `/tmp`), removed when the
/// value is dropped and, like an [`AtomicFile`]'s temporary, on SIGINT or SIGTERM. For
/// copies of a stream that must be read more than once (`normtest` reading stdin).
#[derive(Debug)]
pub struct Spool {
    // Declared first, so dropped first: the file is removed, then unregistered.
    file: NamedTempFile,
    _registration: Registration,
}

impl Spool {
    /// Creates an empty spool file.
    pub fn new() -> std::io::Result<Self> {
        let (file, registration) = Registration::create(NamedTempFile::new)?;
        Ok(Self {
            file,
            _registration: registration,
        })
    }
}

impl std::ops::Deref for Spool {
    type Target = NamedTempFile;
    fn deref(&self) -> &NamedTempFile {
        &self.file
    }
}

impl std::ops::DerefMut for Spool {
    fn deref_mut(&mut self) -> &mut NamedTempFile {
        &mut self.file
    }
}

/// A file being written under a temporary name (or in place, see the module's note).
#[derive(Debug)]
pub struct AtomicFile {
    target: Target,
    dest: PathBuf,
    /// Present for a temporary file; dropped (unregistered) after the rename or removal.
    _registration: Option<Registration>,
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
                _registration: None,
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
        let (tmp, registration) = Registration::create(|| {
            let prefix = format!(".{name}.");
            let mut b = tempfile::Builder::new();
            b.prefix(&prefix).suffix(suffix);
            // The output is a file like any other once renamed: readable as the umask
            // allows (0644 under the usual 022), not the temporary's private 0600.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                b.permissions(std::fs::Permissions::from_mode(0o666));
            }
            b.tempfile_in(&dir)
        })
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
            _registration: Some(registration),
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

    /// A committed output has an ordinary file's mode (0666 less the umask), as a file
    /// written by `>` would, not the temporary's 0600.
    #[cfg(unix)]
    #[test]
    fn outputs_have_an_ordinary_files_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.txt");
        std::fs::write(&plain, b"x").unwrap();
        let dest = dir.path().join("out.csv");
        write_bytes(&dest, b"a,b\n").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dest), mode(&plain));
    }

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
    fn temporaries_are_registered_while_they_exist() {
        let dir = tempfile::tempdir().unwrap();
        let registered = |p: &Path| live_temporary_files().iter().any(|q| q == p);
        let f = AtomicFile::create(&dir.path().join("a.csv")).unwrap();
        let tmp = match &f.target {
            Target::Temporary(t) => t.path().to_path_buf(),
            Target::InPlace(_) => unreachable!(),
        };
        assert!(registered(&tmp));
        f.commit().unwrap();
        assert!(!registered(&tmp) && dir.path().join("a.csv").exists());
        let f = AtomicFile::create(&dir.path().join("b.csv")).unwrap();
        let tmp = match &f.target {
            Target::Temporary(t) => t.path().to_path_buf(),
            Target::InPlace(_) => unreachable!(),
        };
        drop(f);
        assert!(!registered(&tmp) && !tmp.exists());
        let spool = Spool::new().unwrap();
        let path = spool.path().to_path_buf();
        assert!(registered(&path) && path.exists());
        drop(spool);
        assert!(!registered(&path) && !path.exists());
    }

    #[test]
    fn missing_directory_is_one_clear_error() {
        let err = AtomicFile::create(Path::new("/nonexistent-dir-xyz/out.parquet")).unwrap_err();
        assert!(format!("{err:#}").contains("directory /nonexistent-dir-xyz does not exist"));
    }
}
