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

/// The value parser of a PNG path.
pub fn png_path(s: &str) -> Result<PathBuf, String> {
    let p = PathBuf::from(s);
    if p.extension().and_then(|e| e.to_str()) != Some("png") {
        return Err(format!("{s}: the output must be a .png file"));
    }
    Ok(p)
}

/// Stdout holds one thing: a table written to `-` and `--json` together would interleave
/// CSV and JSON, so that is a usage error (exit 2).
pub fn one_stdout<'a>(
    json: bool,
    outputs: impl IntoIterator<Item = Option<&'a Path>>,
) -> Result<(), UsageError> {
    let to_stdout = outputs
        .into_iter()
        .flatten()
        .filter(|p| gradscope_io::is_stdio(p))
        .count();
    if to_stdout + usize::from(json) > 1 {
        return Err(UsageError(
            "stdout can hold one output: a table on `-` or --json, not both (write the table to a file)".into(),
        ));
    }
    Ok(())
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
        assert!(one_stdout(true, [Some(dash)]).is_err());
        assert!(one_stdout(true, [Some(Path::new("a.csv")), None]).is_ok());
        assert!(one_stdout(false, [Some(dash)]).is_ok());
        assert!(crate::threads::parse("5000").is_err());
        assert_eq!(crate::threads::parse("8"), Ok(8));
    }
}
