//! The IDX format of MNIST and Fashion-MNIST (LeCun et al.; http://yann.lecun.com/exdb/mnist/):
//! a big-endian header (two zero bytes, a type code, the number of dimensions, then one u32
//! per dimension) followed by the values. Files may be gzip-compressed (detected by the
//! gzip magic 1f 8b), as the official release is.

use anyhow::{bail, Context, Result};
use std::io::Read;

/// An IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxU8 {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Decompresses `bytes` when they are gzip, else returns them.
pub fn maybe_gunzip(bytes: Vec<u8>) -> Result<Vec<u8>> {
    if bytes.len() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b {
        let mut out = Vec::with_capacity(bytes.len() * 4);
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .context("corrupt gzip data")?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

/// Parses an (uncompressed) IDX file of unsigned bytes (type code 0x08).
pub fn parse_idx_u8(bytes: &[u8]) -> Result<IdxU8> {
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        bail!("not an IDX file (bad magic number)");
    }
    if bytes[2] != 0x08 {
        bail!(
            "IDX type code {:#04x} is not unsigned bytes (0x08)",
            bytes[2]
        );
    }
    let nd = bytes[3] as usize;
    let header = 4 + 4 * nd;
    if bytes.len() < header {
        bail!("IDX header truncated");
    }
    let dims: Vec<usize> = (0..nd)
        .map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize)
        .collect();
    let n: usize = dims.iter().product();
    if bytes.len() - header != n {
        bail!(
            "IDX body holds {} bytes, its header {dims:?} says {n}",
            bytes.len() - header
        );
    }
    Ok(IdxU8 {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Writes an IDX file of unsigned bytes (for tests and synthetic data).
pub fn write_idx_u8(dims: &[usize], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for &d in dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn round_trip_plain_and_gzip() {
        let raw = write_idx_u8(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let a = parse_idx_u8(&maybe_gunzip(raw.clone()).unwrap()).unwrap();
        assert_eq!(a.dims, vec![2, 2, 3]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&raw).unwrap();
        let b = parse_idx_u8(&maybe_gunzip(gz.finish().unwrap()).unwrap()).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn bad_files() {
        assert!(parse_idx_u8(&[1, 2, 3]).is_err());
        assert!(parse_idx_u8(&[0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]).is_err());
        let mut raw = write_idx_u8(&[3], &[1, 2, 3]);
        raw.pop();
        assert!(format!("{:#}", parse_idx_u8(&raw).unwrap_err()).contains("header"));
    }
}
