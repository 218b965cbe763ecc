//! Datasets in their original formats, verified by checksum on load, as tensors.
//!
//! Files are looked up, in order, in `--data-dir`, in `data/raw` (where `make data` puts
//! them) and in `$GRADSCOPE_DATA_MIRROR`, under the mirror's layout: `mnist/…`,
//! `fashion-mnist/…`, `cifar10/cifar-10-binary.tar.gz`, `cifar100/cifar-100-binary.tar.gz`.
//! Every file's md5 is checked against the official release's before it is parsed, so a
//! truncated download or another version is an error that names the file, the expected
//! checksum and the fix, never a silently different experiment.
//!
//! Images become float tensors (N, C, H, W) scaled to [0, 1] (divided by 255); labels
//! int64 (N). [`Preprocess`] adds the studies' options.

pub mod cifar;
pub mod idx;

use anyhow::{bail, Context, Result};
use gradscope_stats::rng;
use md5::{Digest, Md5};
use rand::seq::SliceRandom;
use rand::Rng as _;
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};

/// The datasets gradscope knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetName {
    Mnist,
    FashionMnist,
    Cifar10,
    Cifar100,
    /// 1x28x28, 10 classes, 512 training and 128 test images from class prototypes.
    Synthetic,
    /// 3x32x32, 10 classes, 512 training and 128 test images.
    SyntheticCifar,
}

/// Every file a dataset needs: (path under the data directory, official md5).
pub const CHECKSUMS: &[(&str, &str)] = &[
    (
        "mnist/train-images-idx3-ubyte.gz",
        "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    ),
    (
        "mnist/train-labels-idx1-ubyte.gz",
        "d53e105ee54ea40749a09fcbcd1e9432",
    ),
    (
        "mnist/t10k-images-idx3-ubyte.gz",
        "9fb629c4189551a2d022fa330f9573f3",
    ),
    (
        "mnist/t10k-labels-idx1-ubyte.gz",
        "ec29112dd5afa0611ce80d1b7f02629c",
    ),
    (
        "fashion-mnist/train-images-idx3-ubyte.gz",
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ),
    (
        "fashion-mnist/train-labels-idx1-ubyte.gz",
        "25c81989df183df01b3e8a0aad5dffbe",
    ),
    (
        "fashion-mnist/t10k-images-idx3-ubyte.gz",
        "bef4ecab320f06d8554ea6380940ec79",
    ),
    (
        "fashion-mnist/t10k-labels-idx1-ubyte.gz",
        "bb300cfdad3c16e7a12a480ee83cd310",
    ),
    (
        "cifar10/cifar-10-binary.tar.gz",
        "c32a1d4ab5d03f1284b67883e8d87530",
    ),
    (
        "cifar100/cifar-100-binary.tar.gz",
        "03b5dce01913d631647c71ecec9e9cb8",
    ),
];

impl DatasetName {
    pub const ALL: &'static [(&'static str, DatasetName)] = &[
        ("mnist", DatasetName::Mnist),
        ("fashion-mnist", DatasetName::FashionMnist),
        ("cifar10", DatasetName::Cifar10),
        ("cifar100", DatasetName::Cifar100),
        ("synthetic", DatasetName::Synthetic),
        ("synthetic-cifar", DatasetName::SyntheticCifar),
    ];

    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, d)| *d)
            .with_context(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
                format!(
                    "unknown dataset {s:?}; known datasets: {}",
                    names.join(", ")
                )
            })
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, d)| *d == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    /// Channels, height, width, classes.
    pub fn shape(self) -> (i64, i64, i64, i64) {
        match self {
            DatasetName::Mnist | DatasetName::FashionMnist | DatasetName::Synthetic => {
                (1, 28, 28, 10)
            }
            DatasetName::Cifar10 | DatasetName::SyntheticCifar => (3, 32, 32, 10),
            DatasetName::Cifar100 => (3, 32, 32, 100),
        }
    }
}

/// Images (N, C, H, W) float32 and labels (N) int64.
#[derive(Debug)]
pub struct Split {
    pub images: Tensor,
    pub labels: Tensor,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.size()[0] as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same split sharing its tensors' storage, for another thread (a tensor may be
    /// sent to a thread but not shared with one).
    pub fn shallow_clone(&self) -> Self {
        Self {
            images: self.images.shallow_clone(),
            labels: self.labels.shallow_clone(),
        }
    }

    /// The examples at `idx` (on `device`).
    pub fn batch(&self, idx: &[i64], device: Device) -> Result<(Tensor, Tensor)> {
        let i = Tensor::f_from_slice(idx)?;
        Ok((
            self.images.f_index_select(0, &i)?.f_to_device(device)?,
            self.labels.f_index_select(0, &i)?.f_to_device(device)?,
        ))
    }

    fn select(&self, idx: &[i64]) -> Result<Split> {
        let (images, labels) = self.batch(idx, Device::Cpu)?;
        Ok(Split { images, labels })
    }
}

/// A dataset: training split, optional validation split carved from it, test split.
#[derive(Debug)]
pub struct Dataset {
    pub name: DatasetName,
    pub train: Split,
    pub val: Option<Split>,
    pub test: Split,
    pub classes: i64,
}

/// The studies' preprocessing options (all off by default: the vMF study scales to
/// [0, 1] and nothing else).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Preprocess {
    /// Per-pixel standardisation: subtract each pixel's training mean and divide by its
    /// training standard deviation (pixels constant over the training set are only
    /// centred).
    pub standardize: bool,
    /// Hold out this many training examples, chosen by `seed`, as the validation split
    /// (the vMF study: 5,000 of CIFAR-10's 50,000).
    pub val_size: usize,
    /// Symmetric label noise: each training label is replaced, with this probability, by
    /// one of the other classes chosen uniformly (Han et al. 2018, as the structure study).
    pub label_noise: f64,
    /// Replace every training label by a uniformly random class (Zhang et al. 2017).
    pub random_labels: bool,
    /// Seed of the split and of the label noise.
    pub seed: u64,
}

/// Where datasets are looked up: `explicit` (from `--data-dir`), `data/raw`, then the
/// mirror named by `$GRADSCOPE_DATA_MIRROR`.
pub fn search_dirs(explicit: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = explicit {
        dirs.push(d.to_path_buf());
    }
    dirs.push(PathBuf::from("data/raw"));
    if let Some(m) = std::env::var_os("GRADSCOPE_DATA_MIRROR") {
        dirs.push(PathBuf::from(m));
    }
    dirs
}

/// The md5 of `bytes` as lowercase hex.
pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Finds `rel` in `dirs`, reads it and checks its md5 against [`CHECKSUMS`].
pub fn read_verified(rel: &str, dirs: &[PathBuf]) -> Result<Vec<u8>> {
    let expected = CHECKSUMS
        .iter()
        .find(|(p, _)| *p == rel)
        .map(|(_, m)| *m)
        .with_context(|| format!("no checksum known for {rel}"))?;
    let Some(path) = dirs.iter().map(|d| d.join(rel)).find(|p| p.is_file()) else {
        let tried: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        bail!("dataset file {rel} (md5 {expected}) not found in {}: run `make data` (or set GRADSCOPE_DATA_MIRROR to a directory holding it)", tried.join(", "));
    };
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let got = md5_hex(&bytes);
    if got != expected {
        bail!("{} has md5 {got}, expected {expected} (the official release): the file is corrupt or another version; delete it and run `make data`", path.display());
    }
    Ok(bytes)
}

/// Pixels as floats in [0, 1]. The division is in place: the float copy of MNIST's
/// training images is 188 MB, and a second one only to divide it raised every tool's
/// peak memory by as much.
fn to_images(pixels: Vec<u8>, n: usize, c: i64, h: i64, w: i64) -> Result<Tensor> {
    let t = Tensor::f_from_slice(&pixels)?.f_reshape([n as i64, c, h, w])?;
    let mut t = t.f_to_kind(Kind::Float)?;
    let _ = t.f_div_scalar_(255.0)?;
    Ok(t)
}

fn load_idx_pair(dir: &str, part: &str, dirs: &[PathBuf]) -> Result<Split> {
    let img_rel = format!("{dir}/{part}-images-idx3-ubyte.gz");
    let lab_rel = format!("{dir}/{part}-labels-idx1-ubyte.gz");
    let img = idx::parse_idx_u8(&idx::maybe_gunzip(read_verified(&img_rel, dirs)?)?)
        .with_context(|| format!("cannot parse {img_rel}"))?;
    let lab = idx::parse_idx_u8(&idx::maybe_gunzip(read_verified(&lab_rel, dirs)?)?)
        .with_context(|| format!("cannot parse {lab_rel}"))?;
    if img.dims.len() != 3 || lab.dims.len() != 1 || img.dims[0] != lab.dims[0] {
        bail!(
            "{img_rel} {:?} and {lab_rel} {:?} do not match",
            img.dims,
            lab.dims
        );
    }
    let n = img.dims[0];
    let images = to_images(img.data, n, 1, img.dims[1] as i64, img.dims[2] as i64)?;
    let labels = Tensor::f_from_slice(&lab.data)?.f_to_kind(Kind::Int64)?;
    Ok(Split { images, labels })
}

fn load_cifar(kind: cifar::Cifar, rel: &str, dirs: &[PathBuf]) -> Result<(Split, Split)> {
    let tar = idx::maybe_gunzip(read_verified(rel, dirs)?)?;
    let (tr, te) = cifar::parse_tar(kind, &tar).with_context(|| format!("cannot parse {rel}"))?;
    let split = |r: cifar::Records| -> Result<Split> {
        let n = r.labels.len();
        Ok(Split {
            images: to_images(r.pixels, n, 3, 32, 32)?,
            labels: Tensor::f_from_slice(&r.labels)?.f_to_kind(Kind::Int64)?,
        })
    };
    Ok((split(tr)?, split(te)?))
}

/// A small synthetic classification problem: each class has a random prototype image;
/// an example is its class's prototype plus uniform noise, clipped to [0, 1]. Learnable
/// but not trivially (the noise is as large as the prototypes' contrast). Deterministic
/// in `seed`, independent of libtorch's generator.
pub fn synthetic(
    c: i64,
    h: i64,
    w: i64,
    classes: i64,
    n_train: usize,
    n_test: usize,
    seed: u64,
) -> Result<(Split, Split)> {
    let mut r = rng::seeded(seed);
    let d = (c * h * w) as usize;
    let protos: Vec<Vec<f32>> = (0..classes)
        .map(|_| (0..d).map(|_| r.random::<f32>()).collect())
        .collect();
    let mut make = |n: usize| -> Result<Split> {
        let mut px = Vec::with_capacity(n * d);
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let k = (i as i64) % classes;
            labels.push(k);
            for v in &protos[k as usize] {
                px.push((0.5 * v + 0.5 * r.random::<f32>()).clamp(0.0, 1.0));
            }
        }
        Ok(Split {
            images: Tensor::f_from_slice(&px)?.f_reshape([n as i64, c, h, w])?,
            labels: Tensor::f_from_slice(&labels)?,
        })
    };
    let train = make(n_train)?;
    let test = make(n_test)?;
    Ok((train, test))
}

/// Loads dataset `name` from `dirs` (see [`search_dirs`]) and applies `pre`.
pub fn load(name: DatasetName, dirs: &[PathBuf], pre: &Preprocess) -> Result<Dataset> {
    let (_, _, _, classes) = name.shape();
    let (train, test) = match name {
        DatasetName::Mnist => (
            load_idx_pair("mnist", "train", dirs)?,
            load_idx_pair("mnist", "t10k", dirs)?,
        ),
        DatasetName::FashionMnist => (
            load_idx_pair("fashion-mnist", "train", dirs)?,
            load_idx_pair("fashion-mnist", "t10k", dirs)?,
        ),
        DatasetName::Cifar10 => {
            load_cifar(cifar::Cifar::Ten, "cifar10/cifar-10-binary.tar.gz", dirs)?
        }
        DatasetName::Cifar100 => load_cifar(
            cifar::Cifar::Hundred,
            "cifar100/cifar-100-binary.tar.gz",
            dirs,
        )?,
        DatasetName::Synthetic => synthetic(1, 28, 28, 10, 512, 128, 0x5eed)?,
        DatasetName::SyntheticCifar => synthetic(3, 32, 32, 10, 512, 128, 0x5eed)?,
    };
    let ds = Dataset {
        name,
        train,
        val: None,
        test,
        classes,
    };
    preprocess(ds, pre)
}

/// Applies the options of `pre` (split, label noise, standardisation, in that order).
pub fn preprocess(mut ds: Dataset, pre: &Preprocess) -> Result<Dataset> {
    if pre.val_size > 0 {
        let n = ds.train.len();
        if pre.val_size >= n {
            bail!(
                "a validation split of {} leaves nothing of {}'s {n} training examples",
                pre.val_size,
                ds.name.name()
            );
        }
        let mut idx: Vec<i64> = (0..n as i64).collect();
        idx.shuffle(&mut rng::stream(pre.seed, 0x7a1));
        let (tr, va) = idx.split_at(n - pre.val_size);
        let mut tr = tr.to_vec();
        let mut va = va.to_vec();
        tr.sort_unstable();
        va.sort_unstable();
        ds.val = Some(ds.train.select(&va)?);
        ds.train = ds.train.select(&tr)?;
    }
    if pre.random_labels || pre.label_noise > 0.0 {
        if !(0.0..=1.0).contains(&pre.label_noise) {
            bail!("label noise {} is not a probability", pre.label_noise);
        }
        let mut labels: Vec<i64> = Vec::<i64>::try_from(&ds.train.labels)?;
        let mut r = rng::stream(pre.seed, 0x1abe1);
        let k = ds.classes;
        for l in labels.iter_mut() {
            if pre.random_labels {
                *l = r.random_range(0..k);
            } else if r.random::<f64>() < pre.label_noise {
                let other = r.random_range(0..k - 1);
                *l = if other >= *l { other + 1 } else { other };
            }
        }
        ds.train.labels = Tensor::f_from_slice(&labels)?;
    }
    if pre.standardize {
        let mean = ds
            .train
            .images
            .f_mean_dim([0i64].as_slice(), true, Kind::Float)?;
        let std = ds.train.images.f_std_dim([0i64].as_slice(), false, true)?;
        let std = std.f_where_scalarother(&std.f_gt(1e-8)?, 1.0)?;
        let f = |t: &Tensor| -> Result<Tensor> { Ok(t.f_sub(&mean)?.f_div(&std)?) };
        ds.train.images = f(&ds.train.images)?;
        ds.test.images = f(&ds.test.images)?;
        if let Some(v) = &mut ds.val {
            v.images = f(&v.images)?;
        }
    }
    Ok(ds)
}

/// Random horizontal flips (probability 1/2) and random 32x32 crops of the images padded
/// by 4 zero pixels on each side (He et al. 2016's CIFAR augmentation), drawn from `r`.
/// Works for any square size: crops back to the input size.
pub fn augment(x: &Tensor, r: &mut rng::Rng) -> Result<Tensor> {
    let size = x.size();
    let (n, h, w) = (size[0], size[2], size[3]);
    let padded = x.f_constant_pad_nd([4, 4, 4, 4])?;
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let dy = r.random_range(0..=8i64);
        let dx = r.random_range(0..=8i64);
        let img = padded.f_get(i)?.f_narrow(1, dy, h)?.f_narrow(2, dx, w)?;
        let img = if r.random::<bool>() {
            img.f_flip([2i64].as_slice())?
        } else {
            img
        };
        out.push(img);
    }
    Ok(Tensor::f_stack(&out, 0)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_is_deterministic_and_shaped() {
        let a = load(DatasetName::Synthetic, &[], &Preprocess::default()).unwrap();
        let b = load(DatasetName::Synthetic, &[], &Preprocess::default()).unwrap();
        assert_eq!(a.train.images.size(), [512, 1, 28, 28]);
        assert!(a.train.images.equal(&b.train.images));
        assert_eq!(a.test.len(), 128);
    }

    #[test]
    fn split_noise_and_standardize() {
        let pre = Preprocess {
            val_size: 100,
            label_noise: 1.0,
            standardize: true,
            seed: 3,
            ..Default::default()
        };
        let clean = load(
            DatasetName::Synthetic,
            &[],
            &Preprocess {
                val_size: 100,
                seed: 3,
                ..Default::default()
            },
        )
        .unwrap();
        let d = load(DatasetName::Synthetic, &[], &pre).unwrap();
        assert_eq!(d.train.len(), 412);
        assert_eq!(d.val.as_ref().unwrap().len(), 100);
        // noise rate 1: every label differs from the clean one
        assert_eq!(
            d.train
                .labels
                .ne_tensor(&clean.train.labels)
                .sum(Kind::Int64)
                .int64_value(&[]),
            412
        );
        let m = d
            .train
            .images
            .mean_dim([0i64].as_slice(), false, Kind::Float)
            .abs()
            .max()
            .double_value(&[]);
        assert!(m < 1e-4, "{m}");
        assert!(load(
            DatasetName::Synthetic,
            &[],
            &Preprocess {
                val_size: 600,
                ..Default::default()
            }
        )
        .is_err());
    }

    #[test]
    fn augment_keeps_shape_and_is_seeded() {
        let x = Tensor::rand([3, 3, 32, 32], (Kind::Float, Device::Cpu));
        let a = augment(&x, &mut rng::seeded(1)).unwrap();
        let b = augment(&x, &mut rng::seeded(1)).unwrap();
        assert_eq!(a.size(), x.size());
        assert!(a.equal(&b));
    }

    #[test]
    fn missing_and_corrupt_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let e = format!(
            "{:#}",
            load(
                DatasetName::Mnist,
                &[dir.path().to_path_buf()],
                &Preprocess::default()
            )
            .unwrap_err()
        );
        assert!(
            e.contains("mnist/train-images-idx3-ubyte.gz")
                && e.contains("f68b3c2dcbeaaa9fbdd348bbdeb94873")
                && e.contains("make data"),
            "{e}"
        );
        std::fs::create_dir_all(dir.path().join("cifar10")).unwrap();
        std::fs::write(dir.path().join("cifar10/cifar-10-binary.tar.gz"), b"junk").unwrap();
        let e = format!(
            "{:#}",
            load(
                DatasetName::Cifar10,
                &[dir.path().to_path_buf()],
                &Preprocess::default()
            )
            .unwrap_err()
        );
        assert!(
            e.contains("c32a1d4ab5d03f1284b67883e8d87530")
                && e.contains("corrupt")
                && e.contains("make data"),
            "{e}"
        );
    }

    #[test]
    fn mnist_from_the_mirror() {
        let Some(m) = std::env::var_os("GRADSCOPE_DATA_MIRROR") else {
            eprintln!("note: GRADSCOPE_DATA_MIRROR is not set; skipping the MNIST mirror test");
            return;
        };
        let d = load(
            DatasetName::Mnist,
            &[PathBuf::from(m)],
            &Preprocess::default(),
        )
        .unwrap();
        assert_eq!(d.train.images.size(), [60000, 1, 28, 28]);
        assert_eq!(d.test.len(), 10000);
        assert_eq!(d.train.labels.int64_value(&[0]), 5);
        assert!(d.train.images.max().double_value(&[]) <= 1.0);
    }
}
