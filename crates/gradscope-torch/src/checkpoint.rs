//! Checkpoints: safetensors files with the model's parameters and buffers (under their
//! names), the optimiser's state (`optim.<param>.buf1/.buf2`) and a JSON record of the
//! run's position (`__state__`, stored as a u8 tensor so any safetensors reader keeps it):
//! step, epoch, optimiser step count, metrics so far, the run's settings. With the
//! stateless sampler (see [`crate::sampler`]) this is everything a resumed or replayed run
//! needs to take exactly the same steps. Written to a temporary file and renamed.

use anyhow::{bail, Context, Result};
use std::path::Path;
use tch::{Kind, Tensor};

const STATE_KEY: &str = "__state__";

/// Writes `tensors` and `state` to `path` atomically.
pub fn save(path: &Path, tensors: &[(String, Tensor)], state: &serde_json::Value) -> Result<()> {
    let json = serde_json::to_vec(state)?;
    let mut all: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| {
            Ok((
                n.clone(),
                t.f_detach()?
                    .f_to_device(tch::Device::Cpu)?
                    .f_contiguous()?,
            ))
        })
        .collect::<Result<_>>()?;
    all.push((STATE_KEY.to_string(), Tensor::f_from_slice(&json)?));
    // A temporary beside the destination (seen by whatever removes live temporaries on a
    // signal), renamed when complete; the directory must exist.
    let file = gradscope_io::atomic::AtomicFile::create(path)?;
    Tensor::write_safetensors(&all, file.path()).map_err(|e| write_error(path, e))?;
    file.commit()
}

/// The error of a failed checkpoint write, with the I/O error's own words (tch's message
/// for it is Rust debug text).
fn write_error(path: &Path, e: tch::TchError) -> anyhow::Error {
    let what = format!("cannot write checkpoint {}", path.display());
    match e {
        tch::TchError::SafeTensorError {
            err: safetensors::SafeTensorError::IoError(io),
            ..
        } => anyhow::Error::new(io).context(what),
        tch::TchError::Io(io) => anyhow::Error::new(io).context(what),
        other => anyhow::Error::new(other).context(what),
    }
}

/// Reads a checkpoint: its tensors and its state record.
pub fn load(path: &Path) -> Result<(Vec<(String, Tensor)>, serde_json::Value)> {
    if path.is_dir() {
        bail!(
            "checkpoint {} is a directory; name a checkpoint file in it (e.g. its ckpt/last.safetensors)",
            path.display()
        );
    }
    if !path.is_file() {
        bail!("checkpoint {} does not exist", path.display());
    }
    let mut tensors = Tensor::read_safetensors(path).with_context(|| {
        format!(
            "cannot read checkpoint {} (not a safetensors file?)",
            path.display()
        )
    })?;
    let pos = tensors
        .iter()
        .position(|(n, _)| n == STATE_KEY)
        .with_context(|| {
            format!(
                "{} is not a gradscope checkpoint (no {STATE_KEY})",
                path.display()
            )
        })?;
    let (_, st) = tensors.remove(pos);
    let bytes = Vec::<u8>::try_from(&st.f_to_kind(Kind::Uint8)?)?;
    let state = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: corrupt state record", path.display()))?;
    Ok((tensors, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/x.safetensors");
        let t = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
        // A checkpoint's directory must exist (no output creates one).
        assert!(save(
            &p,
            &[("w".into(), t.shallow_clone())],
            &serde_json::json!({})
        )
        .is_err());
        std::fs::create_dir(dir.path().join("a")).unwrap();
        save(
            &p,
            &[("w".into(), t.shallow_clone())],
            &serde_json::json!({"step": 7}),
        )
        .unwrap();
        let (ts, st) = load(&p).unwrap();
        assert_eq!(st["step"], 7);
        assert!(ts[0].1.equal(&t));
        std::fs::write(dir.path().join("bad.safetensors"), b"xx").unwrap();
        assert!(load(&dir.path().join("bad.safetensors")).is_err());
        assert!(load(&dir.path().join("none.safetensors")).is_err());
    }
}
