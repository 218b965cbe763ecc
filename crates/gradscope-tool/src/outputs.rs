//! The outputs of one run, committed together or not at all.
//!
//! A tool stages each output as it is produced: a result table, a PNG, any file written
//! through a callback. Each goes to a temporary file beside its destination (an
//! [`AtomicFile`], so that whatever watches live temporary files, such as a signal
//! handler, sees it). What goes to stdout (CSV on `-`, `--json`) is held in memory.
//! [`OutputSet::commit`] then writes stdout and renames every temporary into place; a
//! run that fails before it, or drops the set, leaves none of its files behind, and an
//! existing file at a destination is never touched.
//!
//! Order in `commit`: stdout first. When stdout fails (`> /dev/full`), nothing is renamed
//! and the run fails. When the reader of stdout has gone (a broken pipe), the files are
//! still committed and the run ends quietly with exit 0, as a filter does. The renames
//! happen last, in the order the outputs were staged; each is one `rename(2)` within a
//! directory.

use anyhow::Result;
use arrow::record_batch::RecordBatch;
use gradscope_io::atomic::AtomicFile;
use gradscope_io::{is_stdio, Provenance};
use std::io::Write;
use std::path::Path;

/// The files and stdout text of one run, staged until [`OutputSet::commit`].
#[derive(Debug, Default)]
pub struct OutputSet {
    files: Vec<AtomicFile>,
    stdout: Vec<u8>,
}

impl OutputSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stages a result table at `path` (format by extension; `-`: CSV on stdout).
    pub fn table(&mut self, path: &Path, batch: &RecordBatch, prov: &Provenance) -> Result<()> {
        if is_stdio(path) {
            self.stdout
                .extend(gradscope_io::result_table::csv_bytes(batch)?);
            return Ok(());
        }
        let file = gradscope_io::result_table::stage_table(path, batch, prov)?;
        self.files.push(file);
        Ok(())
    }

    /// Stages a file that `draw` writes to the path it is given (a temporary whose name
    /// keeps `path`'s extension, for encoders that choose the format by it: PNGs).
    pub fn drawn(&mut self, path: &Path, draw: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
        let suffix = match path.extension().and_then(|e| e.to_str()) {
            Some(ext) => format!(".tmp.{ext}"),
            None => ".tmp".to_string(),
        };
        let file = AtomicFile::create_with_suffix(path, &suffix)?;
        draw(file.path())?;
        self.files.push(file);
        Ok(())
    }

    /// Stages a file written through `write` (given the uncommitted [`AtomicFile`]).
    pub fn written(
        &mut self,
        path: &Path,
        write: impl FnOnce(&AtomicFile) -> Result<()>,
    ) -> Result<()> {
        let file = AtomicFile::create(path)?;
        write(&file)?;
        self.files.push(file);
        Ok(())
    }

    /// Stages a file already written to its temporary (a state file written group by
    /// group while the run measured).
    pub fn staged(&mut self, file: AtomicFile) {
        self.files.push(file);
    }

    /// Stages `bytes` as the file `path`.
    pub fn bytes(&mut self, path: &Path, bytes: &[u8]) -> Result<()> {
        self.written(path, |f| {
            let mut w = f.writer()?;
            let name = || format!("cannot write {}", path.display());
            anyhow::Context::with_context(w.write_all(bytes), name)?;
            anyhow::Context::with_context(w.flush(), name)?;
            Ok(())
        })
    }

    /// Appends text for stdout.
    pub fn stdout(&mut self, text: &str) {
        self.stdout.extend_from_slice(text.as_bytes());
    }

    /// Appends pretty-printed JSON and a newline for stdout (`--json`).
    pub fn json(&mut self, value: &serde_json::Value) -> Result<()> {
        self.stdout
            .extend(serde_json::to_string_pretty(value)?.into_bytes());
        self.stdout.push(b'\n');
        Ok(())
    }

    /// Writes stdout, then renames every staged file into place (see the module's note).
    pub fn commit(self) -> Result<()> {
        let printed = if self.stdout.is_empty() {
            Ok(())
        } else {
            crate::console::out_bytes(&self.stdout)
        };
        if let Err(e) = printed {
            if !crate::exit::is_broken_pipe(&e) {
                return Err(e);
            }
            for f in self.files {
                f.commit()?;
            }
            return Err(e);
        }
        for f in self.files {
            f.commit()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table_builder::TableBuilder;

    fn batch() -> RecordBatch {
        TableBuilder::new()
            .u64("step", [0, 1])
            .f64("kappa", [1.5, f64::NAN])
            .build()
            .unwrap()
    }

    #[test]
    fn all_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let prov = Provenance::new("test", "t 0");
        let a = dir.path().join("a.csv");
        std::fs::write(&a, "old").unwrap();
        {
            let mut set = OutputSet::new();
            set.table(&a, &batch(), &prov).unwrap();
            // The second output fails: its directory is missing.
            let b = dir.path().join("missing/b.csv");
            assert!(set.table(&b, &batch(), &prov).is_err());
            // dropped without commit
        }
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temporaries left"
        );

        let mut set = OutputSet::new();
        set.table(&a, &batch(), &prov).unwrap();
        let png = dir.path().join("p.png");
        set.drawn(&png, |p| {
            assert!(p.to_string_lossy().ends_with(".png"));
            std::fs::write(p, b"png")?;
            Ok(())
        })
        .unwrap();
        assert!(!png.exists());
        set.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(&a).unwrap(),
            "step,kappa\n0,1.5\n1,\n"
        );
        assert_eq!(std::fs::read(&png).unwrap(), b"png");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
