//! Reading tensors from a safetensors file (the format of gradscope's `train` checkpoints
//! and of most published weights) one tensor at a time, without libtorch.
//!
//! The header (8 bytes of little-endian length, then JSON naming each tensor's dtype,
//! shape and byte range) is parsed and checked by the `safetensors` crate (offsets
//! contiguous from 0, each range exactly `numel * dtype size` bytes, no overflow); this
//! module adds the check that the file holds exactly the bytes the header declares, so
//! a truncated or padded file is an error before anything is computed. Tensor data are
//! read on demand with positioned reads, so memory holds one tensor per caller, not the
//! file. Floating tensors (F64, F32, F16, BF16) convert to `f64` exactly (every value of
//! those formats is an `f64`).

use anyhow::{anyhow, bail, Context, Result};
use safetensors_weights::tensor::{Dtype, Metadata};
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// One tensor's entry in the header.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorEntry {
    /// Its name (e.g. `fc1.weight`).
    pub name: String,
    /// Its dtype as the format spells it (`F32`, `BF16`, ...).
    pub dtype: Dtype,
    /// Its shape (row-major, C order).
    pub shape: Vec<usize>,
    /// Byte range within the data section.
    offsets: (usize, usize),
}

impl TensorEntry {
    /// Elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether [`SafetensorsFile::read_f64`] reads it: F64, F32, F16 or BF16.
    pub fn is_float(&self) -> bool {
        matches!(
            self.dtype,
            Dtype::F64 | Dtype::F32 | Dtype::F16 | Dtype::BF16
        )
    }
}

/// An open safetensors file whose header has been read and checked.
#[derive(Debug)]
pub struct SafetensorsFile {
    path: PathBuf,
    file: File,
    data_start: u64,
    tensors: Vec<TensorEntry>,
    metadata: Option<HashMap<String, String>>,
}

/// The largest header the `safetensors` crate accepts (100 MB).
const MAX_HEADER: u64 = 100_000_000;
/// Bytes read per block by [`SafetensorsFile::read_f64`].
const READ_BLOCK: usize = 1 << 20;

impl SafetensorsFile {
    /// Opens `path` and checks its header against the file's length.
    pub fn open(path: &Path) -> Result<Self> {
        let shown = path.display();
        let mut file = File::open(path).with_context(|| format!("cannot open {shown}"))?;
        let len = file
            .metadata()
            .with_context(|| format!("cannot read {shown}"))?
            .len();
        let bad = |why: String| anyhow!("{shown}: not a valid safetensors file: {why}");
        if len < 8 {
            return Err(bad(format!(
                "{len} bytes, shorter than the 8-byte header length"
            )));
        }
        let mut n8 = [0u8; 8];
        file.read_exact(&mut n8)
            .with_context(|| format!("cannot read {shown}"))?;
        let n = u64::from_le_bytes(n8);
        if n > MAX_HEADER || n > len - 8 {
            return Err(bad(format!(
                "the header claims {n} bytes but the file has {} after the length (truncated, or not safetensors)",
                len - 8
            )));
        }
        let mut header = vec![0u8; n as usize];
        file.read_exact(&mut header)
            .with_context(|| format!("cannot read {shown}"))?;
        let metadata: Metadata =
            serde_json::from_slice(&header).map_err(|e| bad(format!("header: {e}")))?;
        let data_len = metadata.data_len() as u64;
        let data_start = 8 + n;
        if data_start + data_len != len {
            return Err(bad(format!(
                "the header declares {data_len} bytes of tensor data but the file holds {} (truncated or corrupt)",
                len - data_start
            )));
        }
        let mut tensors: Vec<TensorEntry> = metadata
            .tensors()
            .into_iter()
            .map(|(name, info)| TensorEntry {
                name,
                dtype: info.dtype,
                shape: info.shape.clone(),
                offsets: info.data_offsets,
            })
            .collect();
        // File order (the order the writer gave them), not hash order.
        tensors.sort_by_key(|t| t.offsets);
        Ok(Self {
            path: path.to_path_buf(),
            file,
            data_start,
            tensors,
            metadata: metadata.metadata().clone(),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its tensors in file order.
    pub fn tensors(&self) -> &[TensorEntry] {
        &self.tensors
    }

    /// The free-form `__metadata__` map of the header, if any.
    pub fn metadata(&self) -> Option<&HashMap<String, String>> {
        self.metadata.as_ref()
    }

    /// Whether a tensor of this name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.iter().any(|t| t.name == name)
    }

    /// A floating tensor's values as `f64`, in row-major order (exact conversions).
    pub fn read_f64(&self, entry: &TensorEntry) -> Result<Vec<f64>> {
        let decode: fn(&[u8]) -> f64 = match entry.dtype {
            Dtype::F64 => |c| f64::from_le_bytes(c.try_into().expect("8 bytes")),
            Dtype::F32 => |c| f32::from_le_bytes(c.try_into().expect("4 bytes")) as f64,
            Dtype::F16 => |c| half::f16::from_le_bytes([c[0], c[1]]).to_f64(),
            Dtype::BF16 => |c| half::bf16::from_le_bytes([c[0], c[1]]).to_f64(),
            other => bail!(
                "{}: tensor {} has dtype {other}; only F64, F32, F16 and BF16 are read",
                self.path.display(),
                entry.name
            ),
        };
        let width = entry.dtype.bitsize() / 8;
        let (s, e) = entry.offsets;
        let mut out = Vec::with_capacity((e - s) / width);
        // Read and converted a block at a time: the raw bytes never sit beside the whole
        // f64 copy (for float32 weights, a third less peak memory).
        let block_len = READ_BLOCK / width * width;
        let mut block = vec![0u8; block_len.min(e - s)];
        let mut at = s;
        while at < e {
            let bytes = &mut block[..(e - at).min(block_len)];
            self.file
                .read_exact_at(bytes, self.data_start + at as u64)
                .with_context(|| {
                    format!(
                        "cannot read tensor {} of {}",
                        entry.name,
                        self.path.display()
                    )
                })?;
            out.extend(bytes.chunks_exact(width).map(decode));
            at += bytes.len();
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A file by hand: header JSON, then the data bytes.
    fn write(dir: &Path, name: &str, header: &str, data: &[u8]) -> PathBuf {
        let p = dir.join(name);
        let mut f = File::create(&p).unwrap();
        f.write_all(&(header.len() as u64).to_le_bytes()).unwrap();
        f.write_all(header.as_bytes()).unwrap();
        f.write_all(data).unwrap();
        p
    }

    #[test]
    fn reads_each_float_dtype_exactly() {
        let dir = tempfile::tempdir().unwrap();
        // 1.5, -2.25 in each format (exact in all four).
        let mut data = Vec::new();
        for v in [1.5f64, -2.25] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        for v in [1.5f32, -2.25] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        for v in [1.5f32, -2.25] {
            data.extend_from_slice(&half::f16::from_f32(v).to_le_bytes());
        }
        for v in [1.5f32, -2.25] {
            data.extend_from_slice(&half::bf16::from_f32(v).to_le_bytes());
        }
        let header = r#"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[1,2],"data_offsets":[16,24]},"c":{"dtype":"F16","shape":[2,1],"data_offsets":[24,28]},"d":{"dtype":"BF16","shape":[2],"data_offsets":[28,32]},"__metadata__":{"k":"v"}}"#;
        let p = write(dir.path(), "ok.safetensors", header, &data);
        let f = SafetensorsFile::open(&p).unwrap();
        let names: Vec<&str> = f.tensors().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        for t in f.tensors() {
            assert_eq!(f.read_f64(t).unwrap(), vec![1.5, -2.25], "{}", t.name);
        }
        assert_eq!(f.metadata().unwrap()["k"], "v");
    }

    #[test]
    fn tensors_longer_than_a_read_block_read_whole() {
        // Each tensor spans two full blocks and part of a third, after a tensor that puts
        // it at an offset that is not a multiple of the block; the values k/4 - 31 for
        // k < 251 and their negatives (7 significant bits) are exact in all four formats.
        let dir = tempfile::tempdir().unwrap();
        let value = |i: usize| {
            (((i * 7919) % 251) as f64 / 4.0 - 31.0) * if i % 3 == 0 { -1.0 } else { 1.0 }
        };
        let mut data = vec![0u8; 8];
        data[..4].copy_from_slice(&1.5f32.to_le_bytes());
        data[4..].copy_from_slice(&2.5f32.to_le_bytes());
        let mut header =
            String::from(r#"{"lead":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#);
        for (name, width) in [("F64", 8), ("F32", 4), ("F16", 2), ("BF16", 2)] {
            let n = 2 * READ_BLOCK / width + 37;
            let start = data.len();
            for i in 0..n {
                let v = value(i);
                match width {
                    8 => data.extend_from_slice(&v.to_le_bytes()),
                    4 => data.extend_from_slice(&(v as f32).to_le_bytes()),
                    _ if name == "F16" => {
                        data.extend_from_slice(&half::f16::from_f64(v).to_le_bytes())
                    }
                    _ => data.extend_from_slice(&half::bf16::from_f64(v).to_le_bytes()),
                }
            }
            header += &format!(
                r#","{name}":{{"dtype":"{name}","shape":[{n}],"data_offsets":[{start},{}]}}"#,
                data.len()
            );
        }
        header.push('}');
        let p = write(dir.path(), "long.safetensors", &header, &data);
        let f = SafetensorsFile::open(&p).unwrap();
        assert_eq!(f.read_f64(&f.tensors()[0]).unwrap(), vec![1.5, 2.5]);
        for t in &f.tensors()[1..] {
            let got = f.read_f64(t).unwrap();
            assert_eq!(got.len(), t.numel(), "{}", t.name);
            for (i, &g) in got.iter().enumerate() {
                assert_eq!(g, value(i), "{} element {i}", t.name);
            }
        }
    }

    #[test]
    fn truncated_padded_and_corrupt_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let header = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let short = write(dir.path(), "short.safetensors", header, &[0u8; 5]);
        let e = SafetensorsFile::open(&short).unwrap_err().to_string();
        assert!(e.contains("truncated"), "{e}");
        let long = write(dir.path(), "long.safetensors", header, &[0u8; 9]);
        assert!(SafetensorsFile::open(&long).is_err());
        let bad_json = write(dir.path(), "json.safetensors", "{\"a\":", &[]);
        let e = SafetensorsFile::open(&bad_json).unwrap_err().to_string();
        assert!(e.contains("not a valid safetensors file"), "{e}");
        let unknown = write(
            dir.path(),
            "dtype.safetensors",
            r#"{"a":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}}"#,
            &[0u8; 8],
        );
        let e = SafetensorsFile::open(&unknown).unwrap_err().to_string();
        assert!(e.contains("F7"), "{e}");
        let wrong_size = write(
            dir.path(),
            "size.safetensors",
            r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
            &[0u8; 8],
        );
        assert!(SafetensorsFile::open(&wrong_size).is_err());
        std::fs::write(dir.path().join("tiny"), b"xx").unwrap();
        assert!(SafetensorsFile::open(&dir.path().join("tiny")).is_err());
        // A header length far beyond the file.
        std::fs::write(dir.path().join("huge"), u64::MAX.to_le_bytes()).unwrap();
        assert!(SafetensorsFile::open(&dir.path().join("huge")).is_err());
    }

    #[test]
    fn integer_tensors_are_listed_but_not_read_as_floats() {
        let dir = tempfile::tempdir().unwrap();
        let header = r#"{"i":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}"#;
        let p = write(dir.path(), "int.safetensors", header, &[0u8; 8]);
        let f = SafetensorsFile::open(&p).unwrap();
        assert!(!f.tensors()[0].is_float());
        let e = f.read_f64(&f.tensors()[0]).unwrap_err().to_string();
        assert!(e.contains("I32"), "{e}");
    }
}
