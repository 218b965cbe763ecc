//! Argument groups every tool shares (`#[command(flatten)]`), and the value parsers of
//! output paths, so each flag is declared, documented and checked in one place.

use crate::exit::UsageError;
use gradscope_io::TableFormat;
use std::path::{Path, PathBuf};

/// `-i/--input` of the tools that read a gradient matrix: one file or stream, or a
/// matrix in parts (`gradscope_io::grad_parts` gives the rules).
#[derive(Debug, Clone, clap::Args)]
pub struct GradInput {
    /// Gradient matrix to read: a Parquet file or Arrow IPC stream, `-` for stdin. Or a
    /// matrix in parts, read as one in (step, sample) order: a directory (every *.parquet
    /// below it; hive partitions such as step=938/ understood), a quoted glob
    /// ('grads/**/*.parquet'), or several files (-i a.parquet b.parquet).
    #[arg(id = "input", short = 'i', long = "input", value_name = "PATH", num_args = 1.., default_value = "-")]
    pub paths: Vec<PathBuf>,
}

impl GradInput {
    /// Opens the input(s) as one gradient matrix.
    pub fn open(&self) -> anyhow::Result<gradscope_io::GradReader> {
        gradscope_io::GradReader::open_all(&self.paths)
    }

    /// Whether the input is standard input (`-`).
    pub fn is_stdin(&self) -> bool {
        matches!(self.paths.as_slice(), [p] if gradscope_io::is_stdio(p))
    }

    /// The input for messages ([`inputs_name`]).
    pub fn name(&self) -> String {
        inputs_name(&self.paths)
    }
}

/// Inputs named in messages: the path (`-` for stdin), or the first of several and how
/// many more.
pub fn inputs_name(paths: &[PathBuf]) -> String {
    match paths {
        [] => String::new(),
        [p] => p.display().to_string(),
        [p, rest @ ..] => format!("{} and {} more inputs", p.display(), rest.len()),
    }
}

/// `--threads` of the statistics tools (rayon's pool).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Threads {
    /// Worker threads (0: one per core; at most 1024).
    #[arg(long = "threads", value_name = "N", default_value_t = 0, value_parser = crate::threads::parse)]
    pub count: usize,
}

impl Threads {
    /// Sizes rayon's global pool from the flag.
    pub fn init(&self) {
        crate::threads::init_rayon(self.count);
    }
}

/// `--threads` of the libtorch tools (libtorch's intra-op pool; see each tool's notes).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct TorchThreads {
    /// CPU threads for libtorch (0: one per core; at most 1024).
    #[arg(long = "threads", value_name = "N", default_value_t = 0, value_parser = crate::threads::parse)]
    pub count: usize,
}

/// `--json`: the machine-readable summary on stdout.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Json {
    /// Print the results as JSON on stdout.
    #[arg(long = "json")]
    pub enabled: bool,
}

/// `--device` of the libtorch tools, checked for its shape here (libtorch resolves it).
#[derive(Debug, Clone, clap::Args)]
pub struct Device {
    /// cpu, cuda, cuda:N or auto (CUDA when available).
    #[arg(long = "device", value_name = "DEVICE", default_value = "cpu", value_parser = parse_device)]
    pub name: String,
}

fn parse_device(s: &str) -> Result<String, String> {
    let ok = matches!(s, "cpu" | "cuda" | "auto")
        || s.strip_prefix("cuda:")
            .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()) && i.len() < 4);
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!("expected cpu, cuda, cuda:N or auto, got `{s}`"))
    }
}

/// The value parser of a result-table path: `.parquet`, `.csv`, `.json`, or `-` (CSV on
/// stdout). A wrong extension is a usage error before any work starts.
pub fn table_path(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    TableFormat::from_path(&p).map_err(|e| e.to_string())?;
    Ok(p)
}

/// The value parser of a result-table path that must be a file (not `-`).
pub fn table_file(s: &str) -> Result<PathBuf, String> {
    if s == "-" {
        return Err("this table cannot go to stdout; name a .parquet, .csv or .json file".into());
    }
    table_path(s)
}

/// The value parser of a gradient matrix output: a Parquet file or `-` (an Arrow IPC
/// stream on stdout); a name promising another format is a usage error.
pub fn matrix_path(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    gradscope_io::check_matrix_path(&p)?;
    Ok(p)
}

/// The value parser of a file that is always Parquet (a state, a partial Gram matrix):
/// its name must end in `.parquet` (or `.pq`), so that it cannot pose as a table of
/// another format.
pub fn parquet_path(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    let ext = p
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    if !matches!(ext.as_deref(), Some("parquet") | Some("pq")) {
        return Err(format!(
            "{s}: this file is written as Parquet: name it .parquet"
        ));
    }
    Ok(p)
}

/// The value parser of a count within `range`. Every count that sizes an allocation or
/// a loop has an upper bound, so that a typo (2^64 - 1) is a usage error rather than an
/// allocation that panics or a run that never ends.
pub fn count(range: impl std::ops::RangeBounds<u64>) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(range)
}

/// The value parser of a PNG path.
pub fn png_path(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if p.extension().and_then(|e| e.to_str()) != Some("png") {
        return Err(format!("{s}: the output must be a .png file"));
    }
    Ok(p)
}

/// Checks a run's outputs before any work (usage errors, exit 2). Stdout holds one
/// thing: a table written to `-` and `--json` together would interleave CSV and JSON.
/// Each file holds one thing too: two outputs that name the same file (`-o a.csv
/// --steps-output ./a.csv`) would leave only the one committed last, so that is refused
/// rather than lose a result silently. And no output may be one of the run's input files
/// (`-i g.parquet -o g.parquet` would replace the gradients by their table). Pass every
/// output path the run may write (tables, PNGs, state files) and every input file it
/// reads (a directory or glob of parts is compared as written, which is harmless).
pub fn check_outputs<'a>(
    json: bool,
    inputs: impl IntoIterator<Item = &'a Path>,
    outputs: impl IntoIterator<Item = Option<&'a Path>>,
) -> Result<(), UsageError> {
    let outputs: Vec<&Path> = outputs.into_iter().flatten().collect();
    let to_stdout = outputs.iter().filter(|p| gradscope_io::is_stdio(p)).count();
    if to_stdout + usize::from(json) > 1 {
        return Err(UsageError(
            "stdout can hold one output: a table on `-` or --json, not both (write the table to a file)".into(),
        ));
    }
    let mut seen: Vec<(PathBuf, &Path)> = Vec::with_capacity(outputs.len());
    for p in outputs.into_iter().filter(|p| !gradscope_io::is_stdio(p)) {
        let id = file_identity(p);
        if let Some((_, first)) = seen.iter().find(|(other, _)| *other == id) {
            return Err(UsageError(format!(
                "two outputs name the same file ({} and {}): give each its own path",
                first.display(),
                p.display()
            )));
        }
        seen.push((id, p));
    }
    for input in inputs.into_iter().filter(|p| !gradscope_io::is_stdio(p)) {
        let id = file_identity(input);
        if let Some((_, out)) = seen.iter().find(|(other, _)| *other == id) {
            return Err(UsageError(format!(
                "the output {} is the input {}: writing it would replace what is read; give the output another path",
                out.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

/// What decides whether two output paths are one file: the absolute path of the
/// directory, with links resolved where it exists, and the file name. (Hard links to one
/// existing file are not detected; every output is renamed into place, so they would
/// simply stop being linked.)
fn file_identity(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    match (abs.parent(), abs.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .unwrap_or_else(|_| dir.to_path_buf())
            .join(name),
        _ => abs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsers() {
        assert!(table_path("a.csv").is_ok());
        assert!(table_path("-").is_ok());
        assert!(table_path("a.txt")
            .unwrap_err()
            .contains("unknown output format"));
        assert!(table_file("-").is_err());
        assert!(png_path("a.svg").is_err());
        assert!(parse_device("cuda:1").is_ok());
        assert!(parse_device("cuda:").is_err());
        assert!(parse_device("gpu").is_err());
        let dash = Path::new("-");
        assert!(check_outputs(true, [], [Some(dash)]).is_err());
        assert!(check_outputs(true, [], [Some(Path::new("a.csv")), None]).is_ok());
        assert!(check_outputs(false, [], [Some(dash)]).is_ok());
        assert!(check_outputs(false, [], [Some(dash), Some(dash)]).is_err());
        assert!(crate::threads::parse("5000").is_err());
        assert_eq!(crate::threads::parse("8"), Ok(8));
    }

    #[test]
    fn outputs_naming_one_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let a = sub.join("a.csv");
        // The same file spelled through `..` and `.`: one file.
        let other = dir.path().join("sub/../sub/./a.csv");
        let e = check_outputs(false, [], [Some(a.as_path()), None, Some(other.as_path())])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("two outputs name the same file"), "{e}");
        assert!(e.contains("give each its own path"), "{e}");
        // In a directory that does not exist yet, compared as written.
        let m = dir.path().join("missing/a.csv");
        assert!(check_outputs(false, [], [Some(m.as_path()), Some(m.as_path())]).is_err());
        // Different names, or one name in two directories: fine; an input that is no
        // output too.
        let b = sub.join("a.parquet");
        let c = dir.path().join("a.csv");
        assert!(
            check_outputs(false, [b.as_path()], [Some(a.as_path()), Some(c.as_path())]).is_ok()
        );
        // An output that is an input, however spelled.
        let e = check_outputs(
            false,
            [Path::new("-"), other.as_path()],
            [Some(b.as_path()), Some(a.as_path())],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("is the input") && e.contains("give the output another path"),
            "{e}"
        );
        #[cfg(unix)]
        {
            // A directory reached through a symbolic link is the directory.
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&sub, &link).unwrap();
            let via = link.join("a.csv");
            assert!(check_outputs(false, [], [Some(a.as_path()), Some(via.as_path())]).is_err());
        }
    }
}
