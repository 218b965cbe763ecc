//! A gradient matrix in parts: a directory, a glob pattern or several files read as one
//! matrix in (step, sample) order.
//!
//! Large runs write their gradients in parts: `dump-grads --shard I/N` writes the
//! gradients j with j mod N = I, the Python writer under `torch.distributed` one part per
//! rank (contiguous blocks of the numbering), and dataset tools (pyarrow, polars, DuckDB,
//! Spark) write hive-style directories such as `step=938/part-00003.parquet`. Each part
//! is itself in (step, sample) order, so the parts are read as one matrix by a k-way
//! merge of their streams on that key: every tool sees the gradients in the order one
//! file would hold them, and memory stays one record batch per open part whatever the
//! number of gradients.
//!
//! Rules (README "A gradient matrix in parts" says them for users):
//! - a directory means every `*.parquet` file below it, recursively, in name order,
//!   skipping names that begin with `.` or `_` (temporary files, `_SUCCESS`, as pyarrow's
//!   datasets do); a path that does not exist and holds `*`, `?` or `[` is a glob
//!   expanded here (`**` is any number of directories; `*` and `?` do not match a
//!   leading `.`, as in the shell), and a directory it matches is read as a directory;
//! - hive partitions: every `key=value` directory in a part's path names a value. For the
//!   key columns `step`, `sample` and `batch_size`, a file that has the column must hold
//!   exactly that value on every row (else an error naming the row), and a file without
//!   it gets the value on every row, as DuckDB, polars and pyarrow write partitioned
//!   datasets (the partition column is left out of the files). `tensor`, `values` and
//!   `loss` cannot be partition keys: a part must hold whole gradients. Other keys
//!   (`run=3`, `date=...`) organise directories and are not read;
//! - the parts of one matrix may differ only in their `shard`, `command` and `device`
//!   provenance fields (which shard, which command line, which GPU made them); anything
//!   else (layout, model, dataset, seeds, sampling, tool version, the presence of the
//!   `gradscope` metadata, of the `loss` and `batch_size` columns) must agree, else one
//!   error naming the two parts and the field;
//! - the same (step, sample) in two parts is an error naming both; a part out of order
//!   is an error naming it.
//!
//! The merged provenance is the first part's (in the order above) without its `shard`,
//! with `parts` = the number of parts, so every result table says it was read from K
//! parts.
//!
//! Parts are opened lazily: each is opened once at the start (its provenance checked and
//! its first key noted) and closed, then opened again only when the merge reaches its
//! first key, and closed at its end. Parts that do not overlap in (step, sample) (one
//! partition per step) are therefore never open together, so a dataset of thousands of
//! files needs neither thousands of file handles nor thousands of batches in memory.

use crate::grad_reader::{PartOptions, PartReader, BATCH_BYTES};
use crate::{is_stdio, Provenance, Sample};
use anyhow::{anyhow, bail, Result};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::{Component, Path, PathBuf};

/// The provenance fields in which the parts of one matrix may differ.
pub const PER_PART_FIELDS: [&str; 3] = ["shard", "command", "device"];

/// The provenance key that counts the parts a matrix was read from.
pub const PARTS_KEY: &str = "parts";

/// The hive partition values of a part's path for the key columns of the format.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Partition {
    pub step: Option<u64>,
    pub sample: Option<u64>,
    pub batch_size: Option<u64>,
}

impl Partition {
    /// The key columns and their values, in schema order.
    pub fn keys(&self) -> [(&'static str, Option<u64>); 3] {
        [
            ("step", self.step),
            ("sample", self.sample),
            ("batch_size", self.batch_size),
        ]
    }

    /// The partition of `path`: every `key=value` directory in it (not the file name).
    pub fn of_path(path: &Path) -> Result<Self> {
        let mut p = Partition::default();
        let Some(dir) = path.parent() else {
            return Ok(p);
        };
        for c in dir.components() {
            let Component::Normal(c) = c else { continue };
            let Some((key, value)) = c.to_str().and_then(|c| c.split_once('=')) else {
                continue;
            };
            let (slot, max) = match key {
                "step" => (&mut p.step, u64::MAX),
                "sample" => (&mut p.sample, u32::MAX as u64),
                "batch_size" => (&mut p.batch_size, u32::MAX as u64),
                "tensor" | "values" | "loss" => bail!(
                    "{}: the directory `{key}={value}` partitions by `{key}`, but a part must hold whole gradients (partition by step, sample or batch_size)",
                    path.display()
                ),
                _ => continue,
            };
            let v = value.parse::<u64>().ok().filter(|&v| v <= max).ok_or_else(|| {
                anyhow!(
                    "{}: the directory `{key}={value}`: the partition value of `{key}` must be a whole number from 0 to {max}",
                    path.display()
                )
            })?;
            if slot.is_some_and(|old| old != v) {
                bail!(
                    "{}: the path names `{key}` twice, with different values ({} and {v})",
                    path.display(),
                    slot.expect("set")
                );
            }
            *slot = Some(v);
        }
        Ok(p)
    }
}

/// One part of a matrix: its path and its partition.
#[derive(Debug, Clone)]
pub struct Part {
    pub path: PathBuf,
    pub partition: Partition,
}

/// What the inputs name: one file or stream, or a matrix in parts.
#[derive(Debug)]
pub enum Inputs {
    /// A file (or `-`, stdin) read alone, exactly as a gradient matrix.
    One(Part),
    /// Parts to merge; the name describes the inputs in messages.
    Parts(String, Vec<Part>),
}

/// Whether a path holds glob wildcards.
fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// What `inputs` name: one file (or stdin) as before, or the parts of a directory, a
/// glob and several files, with the errors of a directory without parts, a pattern
/// that matches nothing, stdin among several inputs, and a file named twice.
pub fn resolve(inputs: &[PathBuf]) -> Result<Inputs> {
    let single = |p: &Path| -> Result<Inputs> {
        let partition = if is_stdio(p) {
            Partition::default()
        } else {
            Partition::of_path(p)?
        };
        Ok(Inputs::One(Part {
            path: p.to_path_buf(),
            partition,
        }))
    };
    let expands = |p: &Path| p.is_dir() || (!p.exists() && has_wildcard(&p.to_string_lossy()));
    match inputs {
        [] => bail!("--input: no gradient matrix named"),
        [p] if is_stdio(p) || !expands(p) => return single(p),
        _ => {}
    }
    let mut paths = Vec::new();
    for p in inputs {
        if is_stdio(p) {
            bail!("-: stdin cannot be one of several inputs (name files, a directory or a glob)");
        }
        if p.is_dir() {
            let before = paths.len();
            walk(p, &mut paths);
            if paths.len() == before {
                bail!(
                    "{}: no *.parquet file in this directory or below it",
                    p.display()
                );
            }
        } else if !p.exists() && has_wildcard(&p.to_string_lossy()) {
            let before = paths.len();
            glob(p, &mut paths);
            if paths.len() == before {
                bail!("{}: the pattern matches no file", p.display());
            }
        } else {
            paths.push(p.clone());
        }
    }
    let mut seen: HashMap<PathBuf, usize> = HashMap::new();
    for (i, p) in paths.iter().enumerate() {
        let key = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        if let Some(j) = seen.insert(key, i) {
            bail!(
                "{}: the same file as {}, named twice among the inputs",
                p.display(),
                paths[j].display()
            );
        }
    }
    let parts = paths
        .into_iter()
        .map(|path| {
            let partition = Partition::of_path(&path)?;
            Ok(Part { path, partition })
        })
        .collect::<Result<Vec<_>>>()?;
    let name = match inputs {
        [one] => one.display().to_string(),
        [first, rest @ ..] => format!("{} and {} more inputs", first.display(), rest.len()),
        [] => unreachable!("checked above"),
    };
    Ok(Inputs::Parts(name, parts))
}

/// The entries of a directory in name order (none when it cannot be read).
fn entries(dir: &Path) -> Vec<(String, PathBuf, bool)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<(String, PathBuf, bool)> = rd
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            // Directories by their own type: a link to a directory is not followed, so a
            // link cycle cannot loop.
            let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
            (name, dir.join(e.file_name()), is_dir)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Every `*.parquet` file below `dir`, in name order, skipping names that begin with `.`
/// or `_`.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for (name, path, is_dir) in entries(dir) {
        if hidden(&name) {
            continue;
        }
        if is_dir {
            walk(&path, out);
        } else if name.ends_with(".parquet") && path.is_file() {
            out.push(path);
        }
    }
}

/// Names that writers keep for themselves: temporary files and folders (`.tmp-*`,
/// Spark's and Hadoop's `_temporary/`, `_SUCCESS`), never parts of the matrix.
fn hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

/// The files matching the glob `pattern` (a directory it matches is walked).
fn glob(pattern: &Path, out: &mut Vec<PathBuf>) {
    let text = pattern.to_string_lossy().into_owned();
    let absolute = text.starts_with('/');
    let comps: Vec<&str> = text.split('/').filter(|c| !c.is_empty()).collect();
    let first = comps
        .iter()
        .position(|c| has_wildcard(c))
        .unwrap_or(comps.len());
    let mut base = PathBuf::from(if absolute { "/" } else { "" });
    for c in &comps[..first] {
        base.push(c);
    }
    expand(&base, &comps[first..], out);
}

fn expand(dir: &Path, comps: &[&str], out: &mut Vec<PathBuf>) {
    let Some((&c, rest)) = comps.split_first() else {
        return;
    };
    let here = |p: &Path| {
        if dir.as_os_str().is_empty() {
            Path::new(".").join(p)
        } else {
            p.to_path_buf()
        }
    };
    let take = |path: PathBuf, out: &mut Vec<PathBuf>| {
        if rest.is_empty() {
            if path.is_dir() {
                walk(&path, out);
            } else if path.is_file() {
                out.push(path);
            }
        } else if path.is_dir() {
            expand(&path, rest, out);
        }
    };
    if c == "**" {
        expand(dir, rest, out);
        for (name, _, is_dir) in entries(&here(dir)) {
            if is_dir && !hidden(&name) {
                expand(&dir.join(&name), comps, out);
            }
        }
    } else if !has_wildcard(c) {
        take(dir.join(c), out);
    } else {
        for (name, _, _) in entries(&here(dir)) {
            // As a directory walk, a wildcard passes over hidden names (`.tmp-*`,
            // `_SUCCESS`, `_temporary/`) unless the pattern itself begins that way.
            if hidden(&name) && !hidden(c) {
                continue;
            }
            if matches(c.as_bytes(), name.as_bytes()) {
                take(dir.join(&name), out);
            }
        }
    }
}

/// Whether `name` matches the shell pattern `pat` (`*`, `?`, `[abc]`, `[a-z]`, `[!x]`).
fn matches(pat: &[u8], name: &[u8]) -> bool {
    match pat.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|i| matches(rest, &name[i..])),
        Some((b'?', rest)) => !name.is_empty() && matches(rest, &name[1..]),
        Some((b'[', rest)) => {
            let Some((&ch, tail)) = name.split_first() else {
                return false;
            };
            let negate = matches!(rest.first(), Some(b'!' | b'^'));
            let body = if negate { &rest[1..] } else { rest };
            // `]` right after `[` or `[!` is a member, as in the shell.
            let Some(end) = body.iter().skip(1).position(|&b| b == b']').map(|e| e + 1) else {
                // No closing bracket: `[` is itself.
                return ch == b'[' && matches(rest, tail);
            };
            let set = &body[..end];
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == b'-' {
                    hit |= set[i] <= ch && ch <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == ch;
                    i += 1;
                }
            }
            hit != negate && matches(&body[end + 1..], tail)
        }
        Some((&p, rest)) => name.first() == Some(&p) && matches(rest, &name[1..]),
    }
}

/// A JSON value shown in a message, shortened.
fn shown(v: Option<&serde_json::Value>) -> String {
    let s = v.map_or("nothing".to_string(), |v| v.to_string());
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(77).collect::<String>())
    } else {
        s
    }
}

/// Checks that two parts' provenances may be parts of one matrix: equal but for
/// [`PER_PART_FIELDS`]. The error names both parts and the first field that differs.
pub fn check_agree(a: &str, pa: &Provenance, b: &str, pb: &Provenance) -> Result<()> {
    let rule =
        "the parts of one gradient matrix may differ only in their shard, command line and device";
    if pa.layout_inferred() != pb.layout_inferred() {
        let (with, without) = if pa.layout_inferred() { (b, a) } else { (a, b) };
        bail!(
            "{with} and {without}: {with} has `gradscope` metadata and {without} has none ({rule})"
        );
    }
    if pa.layout != pb.layout {
        let (la, lb) = (&pa.layout, &pb.layout);
        let i = (0..la.len().max(lb.len()))
            .find(|&i| la.get(i) != lb.get(i))
            .expect("layouts differ");
        let t = |l: &[crate::TensorLayout]| match l.get(i) {
            Some(t) => format!("`{}` {:?}", t.name, t.shape),
            None => "nothing".into(),
        };
        bail!(
            "{a} and {b}: the parts differ in `layout`: tensor {i} is {} in one and {} in the other ({} against {} tensors; {rule})",
            t(la),
            t(lb),
            la.len(),
            lb.len()
        );
    }
    let obj = |p: &Provenance| match serde_json::to_value(p) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let (ma, mb) = (obj(pa), obj(pb));
    let mut keys: Vec<&String> = ma.keys().chain(mb.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        if PER_PART_FIELDS.contains(&k.as_str()) || k == "layout" {
            continue;
        }
        let (va, vb) = (ma.get(k), mb.get(k));
        let null = serde_json::Value::Null;
        if va.unwrap_or(&null) != vb.unwrap_or(&null) {
            bail!(
                "{a} and {b}: the parts differ in `{k}`: {} against {} ({rule})",
                shown(va),
                shown(vb)
            );
        }
    }
    Ok(())
}

/// A (step, sample) key and the part it belongs to, smallest first in a heap.
type Head = Reverse<((u64, u32), usize)>;

/// The k-way merge of the parts' sample streams.
pub struct PartsReader {
    name: String,
    meta: Provenance,
    parts: Vec<Part>,
    opts: Vec<PartOptions>,
    readers: Vec<Option<PartReader>>,
    /// Open parts by their next key.
    active: BinaryHeap<Head>,
    /// Parts not yet opened, by their first key.
    pending: BinaryHeap<Head>,
    has_loss: bool,
    has_batch_size: bool,
    check_finite: bool,
    samples: u64,
    /// The last key read and its part.
    last: Option<((u64, u32), usize)>,
}

impl std::fmt::Debug for PartsReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartsReader")
            .field("name", &self.name)
            .field("parts", &self.parts.len())
            .field("samples", &self.samples)
            .finish()
    }
}

impl PartsReader {
    /// Opens every part once: its provenance and columns checked against the first
    /// part's, its first key noted; then closes it until the merge reaches it.
    pub fn open(name: String, parts: Vec<Part>) -> Result<Self> {
        // One batch per open part: about 16 MiB in all while few parts are open, at least
        // 256 KiB (or one row) each.
        let batch_bytes = (BATCH_BYTES / parts.len().max(1)).max(256 << 10);
        let opts: Vec<PartOptions> = parts
            .iter()
            .map(|p| PartOptions {
                partition: p.partition.clone(),
                batch_bytes,
                use_pages: true,
            })
            .collect();
        let mut pending = BinaryHeap::new();
        let mut first: Option<(String, Provenance, bool, bool)> = None;
        for (i, part) in parts.iter().enumerate() {
            let mut r = PartReader::open_part(&part.path, &opts[i])?;
            let (has_loss, has_bs) = (r.has_loss(), r.has_batch_size());
            match &first {
                None => first = Some((r.name().to_string(), r.meta().clone(), has_loss, has_bs)),
                Some((a, pa, loss, bs)) => {
                    check_agree(a, pa, r.name(), r.meta())?;
                    for (col, x, y) in [("loss", *loss, has_loss), ("batch_size", *bs, has_bs)] {
                        if x != y {
                            let (with, without) = if x {
                                (a.as_str(), r.name())
                            } else {
                                (r.name(), a.as_str())
                            };
                            bail!("{with} and {without}: {with} has a `{col}` column and {without} has none (the parts of one gradient matrix have the same columns)");
                        }
                    }
                }
            }
            if let Some(key) = r.peek_key()? {
                pending.push(Reverse((key, i)));
            }
        }
        let (_, mut meta, has_loss, has_batch_size) = first.expect("at least one part");
        meta.extra.remove("shard");
        meta.extra
            .insert(PARTS_KEY.into(), serde_json::Value::from(parts.len()));
        let readers = (0..parts.len()).map(|_| None).collect();
        Ok(Self {
            name,
            meta,
            parts,
            opts,
            readers,
            active: BinaryHeap::new(),
            pending,
            has_loss,
            has_batch_size,
            check_finite: true,
            samples: 0,
            last: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn meta(&self) -> &Provenance {
        &self.meta
    }

    pub fn samples_read(&self) -> u64 {
        self.samples
    }

    pub fn has_loss(&self) -> bool {
        self.has_loss
    }

    pub fn has_batch_size(&self) -> bool {
        self.has_batch_size
    }

    pub fn set_check_finite(&mut self, check: bool) {
        self.check_finite = check;
        for r in self.readers.iter_mut().flatten() {
            r.set_check_finite(check);
        }
    }

    /// The next sample of the merged matrix into `out`; false at the end.
    pub fn next_sample(&mut self, out: &mut Sample) -> Result<bool> {
        // Open every part whose first key is not after the smallest open key, so that a
        // key two parts share is seen in both.
        while let Some(&Reverse((key, i))) = self.pending.peek() {
            if self
                .active
                .peek()
                .is_some_and(|&Reverse((open, _))| open < key)
            {
                break;
            }
            self.pending.pop();
            let mut r = PartReader::open_part(&self.parts[i].path, &self.opts[i])?;
            r.set_check_finite(self.check_finite);
            match r.peek_key()? {
                Some(k) if k == key => self.active.push(Reverse((k, i))),
                _ => bail!(
                    "{}: the file changed while it was being read (its first gradient is no longer step {} sample {})",
                    r.name(),
                    key.0,
                    key.1
                ),
            }
            self.readers[i] = Some(r);
        }
        let Some(Reverse((key, i))) = self.active.pop() else {
            return Ok(false);
        };
        if let Some(&Reverse((other, j))) = self.active.peek() {
            if other == key {
                bail!(
                    "{} and {}: both hold step {} sample {} (the same gradient in two parts)",
                    self.parts[i.min(j)].path.display(),
                    self.parts[i.max(j)].path.display(),
                    key.0,
                    key.1
                );
            }
        }
        let r = self.readers[i].as_mut().expect("an active part is open");
        // The part checks its own order as it reads.
        if !r.next_sample(out)? {
            bail!("{}: the file ends where it had a gradient", r.name());
        }
        if let Some((last, j)) = self.last {
            if key <= last {
                bail!(
                    "{}: step {} sample {} comes after step {} sample {} of {}: each part's rows must be ordered by step, then sample",
                    r.name(),
                    key.0,
                    key.1,
                    last.0,
                    last.1,
                    self.parts[j].path.display()
                );
            }
        }
        match r.peek_key()? {
            Some(next) => self.active.push(Reverse((next, i))),
            // Closes the file.
            None => self.readers[i] = None,
        }
        self.last = Some((key, i));
        self.samples += 1;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_patterns() {
        for (pat, name, want) in [
            ("*.parquet", "part-0.parquet", true),
            ("*.parquet", "part-0.arrows", false),
            ("part-?.parquet", "part-1.parquet", true),
            ("part-?.parquet", "part-10.parquet", false),
            ("step=[0-9]*", "step=938", true),
            ("step=[!0-9]*", "step=938", false),
            ("[]x]", "]", true),
            ("a[", "a[", true),
            ("*", "", true),
        ] {
            assert_eq!(
                matches(pat.as_bytes(), name.as_bytes()),
                want,
                "{pat} {name}"
            );
        }
    }

    #[test]
    fn partitions_from_paths() {
        let p =
            Partition::of_path(Path::new("d/run=3/step=938/batch_size=64/part-1.parquet")).unwrap();
        assert_eq!(
            p,
            Partition {
                step: Some(938),
                sample: None,
                batch_size: Some(64)
            }
        );
        // The file name is not a partition.
        assert_eq!(
            Partition::of_path(Path::new("d/step=1.parquet")).unwrap(),
            Partition::default()
        );
        let e = Partition::of_path(Path::new("step=x/a.parquet"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`step=x`") && e.contains("whole number"), "{e}");
        let e = Partition::of_path(Path::new("tensor=w/a.parquet"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("whole gradients"), "{e}");
        let e = Partition::of_path(Path::new("step=1/step=2/a.parquet"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("twice"), "{e}");
        assert!(Partition::of_path(Path::new("sample=4294967296/a.parquet")).is_err());
    }

    #[test]
    fn directories_and_globs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "step=2/part-0.parquet",
            "step=2/part-1.parquet",
            "step=10/part-0.parquet",
            "step=10/.tmp-x.parquet",
            "step=10/_SUCCESS",
            "_tmp/part-9.parquet",
            "notes.txt",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"").unwrap();
        }
        let names = |inputs: &[PathBuf]| -> Vec<String> {
            match resolve(inputs).unwrap() {
                Inputs::Parts(_, parts) => parts
                    .iter()
                    .map(|p| p.path.strip_prefix(root).unwrap().display().to_string())
                    .collect(),
                Inputs::One(p) => vec![p.path.display().to_string()],
            }
        };
        let want = [
            "step=10/part-0.parquet",
            "step=2/part-0.parquet",
            "step=2/part-1.parquet",
        ];
        assert_eq!(names(&[root.to_path_buf()]), want);
        assert_eq!(names(&[root.join("**/*.parquet")]), want);
        assert_eq!(names(&[root.join("step=*")]), want);
        assert_eq!(
            names(&[root.join("step=2/part-[1-9].parquet")]),
            ["step=2/part-1.parquet"]
        );
        let e = resolve(&[root.join("*.arrows")]).unwrap_err().to_string();
        assert!(e.ends_with("*.arrows: the pattern matches no file"), "{e}");
        std::fs::create_dir(root.join("empty")).unwrap();
        let e = resolve(&[root.join("empty")]).unwrap_err().to_string();
        assert!(e.contains("no *.parquet file"), "{e}");
        let twice = [root.join("step=2/part-0.parquet"), root.join("step=2")];
        let e = resolve(&twice).unwrap_err().to_string();
        assert!(e.contains("named twice"), "{e}");
        let e = resolve(&[PathBuf::from("-"), root.to_path_buf()])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("-: stdin cannot be one of several"), "{e}");
        // One file, stdin, or a missing path without wildcards: read alone, as always.
        assert!(matches!(
            resolve(&[PathBuf::from("-")]).unwrap(),
            Inputs::One(_)
        ));
        assert!(matches!(
            resolve(&[root.join("missing.parquet")]).unwrap(),
            Inputs::One(_)
        ));
        match resolve(&[root.join("step=10/part-0.parquet")]).unwrap() {
            Inputs::One(p) => assert_eq!(p.partition.step, Some(10)),
            other => panic!("{other:?}"),
        }
    }
}
