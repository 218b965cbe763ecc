//! The input as paths that can be read more than once: the tests need each coordinate
//! across all samples, so the file is read once per block of coordinates, and a stream on
//! stdin is first copied to a temporary file.

use anyhow::{anyhow, Context, Result};
use gradscope_io::atomic::AtomicFile;
use gradscope_io::GradReader;
use gradscope_tool::args::GradInput;
use gradscope_tool::errln;
use gradscope_tool::text_table::num;
use std::path::PathBuf;

/// The input as paths that can be read more than once.
pub struct Input {
    pub paths: Vec<PathBuf>,
    /// The name for messages.
    pub name: String,
    /// The spool file of a stream read from stdin: an uncommitted [`AtomicFile`] in the
    /// temporary directory, so it is removed at exit, and seen by whatever removes live
    /// temporary files on a signal.
    _spill: Option<AtomicFile>,
    /// The bytes copied from stdin, for the note said once the copy opens as a matrix.
    pub spilled_bytes: Option<u64>,
}

/// The input's paths; a stream on stdin copied to a temporary file first.
pub fn open_input(input: &GradInput) -> Result<Input> {
    if !input.is_stdin() {
        return Ok(Input {
            paths: input.paths.clone(),
            name: input.name(),
            _spill: None,
            spilled_bytes: None,
        });
    }
    let spill = AtomicFile::create(&std::env::temp_dir().join("normtest-stdin.arrows"))
        .context("stdin: cannot create a temporary file to hold the stream (set TMPDIR)")?;
    let mut file = spill.file()?;
    let bytes = std::io::copy(&mut std::io::stdin().lock(), &mut file)
        .and_then(|n| file.sync_data().map(|()| n))
        .context("stdin: cannot copy the stream to a temporary file (is TMPDIR full?)")?;
    Ok(Input {
        paths: vec![spill.path().to_path_buf()],
        name: "stdin".into(),
        _spill: Some(spill),
        spilled_bytes: Some(bytes),
    })
}

/// Opens the input; a spilled stream's errors name stdin, not the temporary file.
pub fn open_reader(input: &Input) -> Result<GradReader> {
    GradReader::open_all(&input.paths).map_err(|e| rename(e, input))
}

/// Says where a stream read from stdin went, once it has opened as a gradient matrix (a
/// stream that is not one fails with its error line alone).
pub fn note_spill(input: &Input) {
    if let Some(bytes) = input.spilled_bytes {
        errln!(
            "note: stdin: copied the stream ({} MiB) to a temporary file, since the coordinates \
             are read once per block; it is removed at exit",
            num(bytes as f64 / 1048576.0)
        );
    }
}

/// The error with the temporary file's path written `stdin`, for a spilled stream.
pub fn rename(e: anyhow::Error, input: &Input) -> anyhow::Error {
    if let (Some(_), [path]) = (&input._spill, input.paths.as_slice()) {
        let tmp = path.display().to_string();
        anyhow!(gradscope_tool::exit::one_line(&e).replace(&tmp, "stdin"))
    } else {
        e
    }
}
