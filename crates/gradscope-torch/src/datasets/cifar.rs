//! CIFAR-10 and CIFAR-100, binary version (Krizhevsky 2009;
//! https://www.cs.toronto.edu/~kriz/cifar.html), read straight from the official tarball
//! so the checksum on load is the official one.
//!
//! CIFAR-10: `cifar-10-batches-bin/data_batch_{1..5}.bin` and `test_batch.bin`, records of
//! 1 label byte + 3,072 pixel bytes (1,024 red, then green, then blue, row-major 32x32).
//! CIFAR-100: `cifar-100-binary/train.bin` and `test.bin`, records of a coarse label byte,
//! a fine label byte, then the 3,072 pixels; gradscope uses the fine (100-class) labels.

use anyhow::{bail, Context, Result};

/// Which CIFAR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cifar {
    Ten,
    Hundred,
}

impl Cifar {
    fn label_bytes(self) -> usize {
        match self {
            Cifar::Ten => 1,
            Cifar::Hundred => 2,
        }
    }

    /// Member file names (suffixes) of the training and test parts.
    pub fn members(self) -> (Vec<&'static str>, &'static str) {
        match self {
            Cifar::Ten => (
                vec![
                    "data_batch_1.bin",
                    "data_batch_2.bin",
                    "data_batch_3.bin",
                    "data_batch_4.bin",
                    "data_batch_5.bin",
                ],
                "test_batch.bin",
            ),
            Cifar::Hundred => (vec!["train.bin"], "test.bin"),
        }
    }
}

/// Pixels (N x 3,072 bytes, channel-major) and labels.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Records {
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
}

/// Parses the records of one binary batch file.
pub fn parse_records(kind: Cifar, bytes: &[u8], out: &mut Records) -> Result<()> {
    let lb = kind.label_bytes();
    let rec = lb + 3072;
    if bytes.len() % rec != 0 {
        bail!(
            "{} bytes is not a whole number of {rec}-byte records",
            bytes.len()
        );
    }
    for r in bytes.chunks_exact(rec) {
        out.labels.push(r[lb - 1]);
        out.pixels.extend_from_slice(&r[lb..]);
    }
    Ok(())
}

/// The members of an (uncompressed) ustar/GNU tar archive: (name, contents).
pub fn tar_members(bytes: &[u8]) -> Result<Vec<(String, &[u8])>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 512 <= bytes.len() {
        let h = &bytes[pos..pos + 512];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let name = String::from_utf8_lossy(&h[..100])
            .trim_end_matches('\0')
            .to_string();
        let size_field = String::from_utf8_lossy(&h[124..136])
            .trim_matches(|c: char| c == '\0' || c == ' ')
            .to_string();
        let size = usize::from_str_radix(&size_field, 8)
            .with_context(|| format!("bad tar header for {name:?}"))?;
        let start = pos + 512;
        if start + size > bytes.len() {
            bail!("tar member {name:?} is truncated");
        }
        if h[156] == b'0' || h[156] == 0 {
            out.push((name, &bytes[start..start + size]));
        }
        pos = start + size.div_ceil(512) * 512;
    }
    Ok(out)
}

/// Training and test records from an uncompressed tarball's bytes.
pub fn parse_tar(kind: Cifar, tar: &[u8]) -> Result<(Records, Records)> {
    let members = tar_members(tar)?;
    let (train_names, test_name) = kind.members();
    let find = |suffix: &str| -> Result<&[u8]> {
        members
            .iter()
            .find(|(n, _)| n.ends_with(suffix))
            .map(|(_, d)| *d)
            .with_context(|| format!("archive has no member {suffix}"))
    };
    let mut train = Records::default();
    for n in train_names {
        parse_records(kind, find(n)?, &mut train).with_context(|| format!("member {n}"))?;
    }
    let mut test = Records::default();
    parse_records(kind, find(test_name)?, &mut test)
        .with_context(|| format!("member {test_name}"))?;
    Ok((train, test))
}

/// Builds a tar archive (for tests).
pub fn write_tar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in members {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        let size = format!("{:011o}\0", data.len());
        h[124..136].copy_from_slice(size.as_bytes());
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| b as u32).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(lb: usize, label: u8, fill: u8) -> Vec<u8> {
        let mut r = vec![label; lb];
        r.extend(std::iter::repeat_n(fill, 3072));
        r
    }

    #[test]
    fn cifar10_from_a_synthetic_tarball() {
        let b: Vec<Vec<u8>> = (0..5)
            .map(|i| [record(1, i, i), record(1, 9, 200)].concat())
            .collect();
        let test = record(1, 3, 7);
        let names: Vec<String> = (1..=5)
            .map(|i| format!("cifar-10-batches-bin/data_batch_{i}.bin"))
            .collect();
        let mut members: Vec<(&str, &[u8])> = names
            .iter()
            .map(|n| n.as_str())
            .zip(b.iter().map(|v| v.as_slice()))
            .collect();
        members.push(("cifar-10-batches-bin/test_batch.bin", &test));
        let (tr, te) = parse_tar(Cifar::Ten, &write_tar(&members)).unwrap();
        assert_eq!(tr.labels, vec![0, 9, 1, 9, 2, 9, 3, 9, 4, 9]);
        assert_eq!(tr.pixels.len(), 10 * 3072);
        assert_eq!(tr.pixels[3072 * 2], 1);
        assert_eq!(te.labels, vec![3]);
    }

    #[test]
    fn cifar100_uses_fine_labels() {
        let train = [record(2, 42, 1), record(2, 99, 2)].concat();
        let test = record(2, 5, 3);
        let tar = write_tar(&[
            ("cifar-100-binary/train.bin", &train),
            ("cifar-100-binary/test.bin", &test),
        ]);
        let (tr, te) = parse_tar(Cifar::Hundred, &tar).unwrap();
        assert_eq!(tr.labels, vec![42, 99]);
        assert_eq!(te.labels, vec![5]);
    }

    #[test]
    fn broken_archives() {
        let tar = write_tar(&[("cifar-100-binary/train.bin", &[1u8; 100])]);
        assert!(parse_tar(Cifar::Hundred, &tar).is_err());
        let tar = write_tar(&[("x", &[1u8; 100])]);
        assert!(format!("{:#}", parse_tar(Cifar::Ten, &tar).unwrap_err()).contains("no member"));
    }
}
