//! A user's own training data: tensors `x` (inputs) and `y` (targets) from a file, for
//! `dump-grads --inputs`.
//!
//! Three formats, recognised by extension (or, for another extension, by their first
//! bytes), each read with the format's own crate:
//! - safetensors (`.safetensors`; `safetensors.torch.save_file({"x": x, "y": y}, path)`),
//!   read with the `safetensors` crate (which checks every offset of the header);
//! - NumPy `.npz` (`numpy.savez(path, x=x, y=y)`, compressed or not), read with `npyz`
//!   (either byte order; Fortran-ordered arrays are transposed back);
//! - Parquet (`.parquet`): one row per example, columns `x` and `y`, each a number, or a
//!   list / large list / fixed-size list (nested for more dimensions) of numbers of the
//!   same length in every row, or a `arrow.fixed_shape_tensor` column (whose shape
//!   metadata gives the dimensions); read with the `parquet` and `arrow` crates.
//!
//! `x` and `y` may have any shape whose first dimension is the example (the same N for
//! both). Dtypes: uint8, int8, int16, int32, int64, float16, bfloat16 (safetensors only),
//! float32 and float64 are kept as stored; uint16 and uint32 are widened to int64 (libtorch
//! has no such tensors). bool, uint64, complex, string and datetime data are an error
//! naming the tensor and its dtype. The whole file is read into memory (its tensors once).

use crate::datasets::Split;
use anyhow::{bail, Context, Result};
use std::path::Path;
use tch::{Kind, Tensor};

/// How an inputs file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Safetensors,
    Npz,
    Parquet,
}

impl Format {
    /// The format of `path`: by extension, else by its first bytes (zip: npz; `PAR1`:
    /// Parquet; anything else is read as safetensors).
    pub fn of(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        Ok(match ext.as_str() {
            "safetensors" | "st" => Format::Safetensors,
            "npz" => Format::Npz,
            "parquet" | "pq" => Format::Parquet,
            _ => {
                use std::io::Read;
                let mut head = [0u8; 4];
                let mut f = std::fs::File::open(path)
                    .with_context(|| format!("cannot open inputs {}", path.display()))?;
                let k = f.read(&mut head).unwrap_or(0);
                match &head[..k] {
                    [b'P', b'K', ..] => Format::Npz,
                    b"PAR1" => Format::Parquet,
                    _ => Format::Safetensors,
                }
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Safetensors => "safetensors",
            Format::Npz => "npz",
            Format::Parquet => "parquet",
        }
    }
}

/// Inputs `x` and targets `y` (first dimension: the example), on the CPU.
#[derive(Debug)]
pub struct Inputs {
    pub x: Tensor,
    pub y: Tensor,
    pub format: Format,
}

impl Inputs {
    /// Examples.
    pub fn len(&self) -> usize {
        self.y.size()[0] as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// As a training split (minibatches are drawn from it as from a dataset's).
    pub fn into_split(self) -> Split {
        Split {
            images: self.x,
            labels: self.y,
        }
    }

    /// `x int64 [N, T], y int64 [N, T]`, for messages and provenance.
    pub fn describe(&self) -> String {
        format!(
            "x {} {:?}, y {} {:?}",
            kind_name(self.x.kind()),
            self.x.size(),
            kind_name(self.y.kind()),
            self.y.size()
        )
    }
}

/// A tensor kind as NumPy names it.
pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Uint8 => "uint8",
        Kind::Int8 => "int8",
        Kind::Int16 => "int16",
        Kind::Int => "int32",
        Kind::Int64 => "int64",
        Kind::Half => "float16",
        Kind::BFloat16 => "bfloat16",
        Kind::Float => "float32",
        Kind::Double => "float64",
        Kind::Bool => "bool",
        _ => "another type",
    }
}

const SUPPORTED: &str =
    "uint8, uint16, uint32, int8, int16, int32, int64, float16, bfloat16, float32, float64";

/// Reads `x` and `y` from `path` and checks that they describe the same examples.
pub fn load(path: &Path) -> Result<Inputs> {
    if !path.is_file() {
        bail!("inputs file {} does not exist", path.display());
    }
    let format = Format::of(path)?;
    let (x, y) = match format {
        Format::Safetensors => read_safetensors(path),
        Format::Npz => read_npz(path),
        Format::Parquet => read_parquet(path),
    }
    .with_context(|| format!("cannot read inputs {} ({})", path.display(), format.name()))?;
    let (xs, ys) = (x.size(), y.size());
    if xs.is_empty() || ys.is_empty() {
        bail!(
            "inputs {}: x {xs:?} and y {ys:?} must each have a first dimension, the example",
            path.display()
        );
    }
    if xs[0] != ys[0] {
        bail!(
            "inputs {}: x holds {} examples but y holds {}: their first dimensions must agree",
            path.display(),
            xs[0],
            ys[0]
        );
    }
    if ys[0] == 0 {
        bail!("inputs {} hold no examples", path.display());
    }
    Ok(Inputs { x, y, format })
}

fn missing(name: &str, found: &[String]) -> anyhow::Error {
    anyhow::anyhow!(
        "no tensor `{name}` (found: {}); the file must hold `x` (inputs) and `y` (targets)",
        if found.is_empty() {
            "none".to_string()
        } else {
            found.join(", ")
        }
    )
}

fn unsupported(name: &str, dtype: &str) -> anyhow::Error {
    anyhow::anyhow!("`{name}` has dtype {dtype}, which is not supported (supported: {SUPPORTED})")
}

/// A tensor from little-endian bytes of `kind`, after checking their length.
fn from_bytes(name: &str, bytes: &[u8], shape: &[i64], kind: Kind) -> Result<Tensor> {
    let numel: i64 = shape.iter().product();
    if numel < 0 || bytes.len() as i64 != numel * kind.elt_size_in_bytes() as i64 {
        bail!(
            "`{name}` has {} bytes of data for shape {shape:?}",
            bytes.len()
        );
    }
    Ok(Tensor::f_from_data_size(bytes, shape, kind)?)
}

/// Unsigned integers wider than a byte, widened to int64.
fn widen<const W: usize>(name: &str, bytes: &[u8], shape: &[i64]) -> Result<Tensor> {
    let v: Vec<i64> = bytes
        .chunks_exact(W)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..W].copy_from_slice(c);
            i64::from_le_bytes(b)
        })
        .collect();
    from_slice(name, &v, shape)
}

fn from_slice<T: tch::kind::Element>(name: &str, v: &[T], shape: &[i64]) -> Result<Tensor> {
    let numel: i64 = shape.iter().product();
    if v.len() as i64 != numel {
        bail!("`{name}` has {} values for shape {shape:?}", v.len());
    }
    Ok(Tensor::f_from_slice(v)?.f_reshape(shape)?)
}

fn read_safetensors(path: &Path) -> Result<(Tensor, Tensor)> {
    use safetensors::tensor::{Dtype, SafeTensors};
    let bytes = std::fs::read(path)?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| anyhow::anyhow!("not a safetensors file: {e:?}"))?;
    let mut names: Vec<String> = st.names().into_iter().cloned().collect();
    names.sort();
    let get = |name: &str| -> Result<Tensor> {
        let view = st.tensor(name).map_err(|_| missing(name, &names))?;
        let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
        let data = view.data();
        let kind = match view.dtype() {
            Dtype::U8 => Kind::Uint8,
            Dtype::I8 => Kind::Int8,
            Dtype::I16 => Kind::Int16,
            Dtype::I32 => Kind::Int,
            Dtype::I64 => Kind::Int64,
            Dtype::F16 => Kind::Half,
            Dtype::BF16 => Kind::BFloat16,
            Dtype::F32 => Kind::Float,
            Dtype::F64 => Kind::Double,
            Dtype::U16 => return widen::<2>(name, data, &shape),
            Dtype::U32 => return widen::<4>(name, data, &shape),
            other => return Err(unsupported(name, &format!("{other:?}").to_lowercase())),
        };
        from_bytes(name, data, &shape, kind)
    };
    Ok((get("x")?, get("y")?))
}

fn read_npz(path: &Path) -> Result<(Tensor, Tensor)> {
    use npyz::{DType, Order, TypeChar};
    let mut npz = npyz::npz::NpzArchive::open(path).context("not a zip archive")?;
    let mut names: Vec<String> = npz.array_names().map(String::from).collect();
    names.sort();
    let mut get = |name: &str| -> Result<Tensor> {
        let npy = npz
            .by_name(name)
            .with_context(|| format!("cannot read `{name}`"))?
            .ok_or_else(|| missing(name, &names))?;
        let shape: Vec<i64> = npy.shape().iter().map(|&d| d as i64).collect();
        let fortran = npy.order() == Order::Fortran;
        // Fortran order: the data are the transpose's, in C order.
        let stored: Vec<i64> = if fortran {
            shape.iter().rev().copied().collect()
        } else {
            shape.clone()
        };
        let DType::Plain(ts) = npy.dtype() else {
            return Err(unsupported(name, "structured"));
        };
        let read = |e: std::io::Error| anyhow::anyhow!("cannot read `{name}`: {e}");
        let t = match (ts.type_char(), ts.size_field()) {
            (TypeChar::Uint, 1) => from_slice(name, &npy.into_vec::<u8>().map_err(read)?, &stored),
            (TypeChar::Uint, 2) => {
                let v: Vec<i64> = npy
                    .into_vec::<u16>()
                    .map_err(read)?
                    .into_iter()
                    .map(i64::from)
                    .collect();
                from_slice(name, &v, &stored)
            }
            (TypeChar::Uint, 4) => {
                let v: Vec<i64> = npy
                    .into_vec::<u32>()
                    .map_err(read)?
                    .into_iter()
                    .map(i64::from)
                    .collect();
                from_slice(name, &v, &stored)
            }
            (TypeChar::Int, 1) => from_slice(name, &npy.into_vec::<i8>().map_err(read)?, &stored),
            (TypeChar::Int, 2) => from_slice(name, &npy.into_vec::<i16>().map_err(read)?, &stored),
            (TypeChar::Int, 4) => from_slice(name, &npy.into_vec::<i32>().map_err(read)?, &stored),
            (TypeChar::Int, 8) => from_slice(name, &npy.into_vec::<i64>().map_err(read)?, &stored),
            (TypeChar::Float, 2) => from_slice(
                name,
                &npy.into_vec::<npyz::half::f16>().map_err(read)?,
                &stored,
            ),
            (TypeChar::Float, 4) => {
                from_slice(name, &npy.into_vec::<f32>().map_err(read)?, &stored)
            }
            (TypeChar::Float, 8) => {
                from_slice(name, &npy.into_vec::<f64>().map_err(read)?, &stored)
            }
            _ => Err(unsupported(name, &ts.to_string())),
        }?;
        if fortran && shape.len() > 1 {
            let dims: Vec<i64> = (0..shape.len() as i64).rev().collect();
            Ok(t.f_permute(dims)?.f_contiguous()?)
        } else {
            Ok(t)
        }
    };
    let x = get("x")?;
    let y = get("y")?;
    Ok((x, y))
}

fn read_parquet(path: &Path) -> Result<(Tensor, Tensor)> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;
    let file = std::fs::File::open(path)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).context("not a Parquet file")?;
    let schema = builder.schema().clone();
    let mut names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    names.sort();
    let mut roots = Vec::new();
    for name in ["x", "y"] {
        let i = schema.index_of(name).map_err(|_| missing(name, &names))?;
        roots.push(i);
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder.with_projection(mask).build()?;
    let mut cols: [Vec<arrow::array::ArrayRef>; 2] = [Vec::new(), Vec::new()];
    let mut fields = Vec::new();
    for batch in reader {
        let batch = batch?;
        if fields.is_empty() {
            fields = ["x", "y"]
                .iter()
                .map(|n| batch.schema().field_with_name(n).cloned())
                .collect::<Result<_, _>>()?;
        }
        for (k, name) in ["x", "y"].iter().enumerate() {
            let c = batch.column_by_name(name).context("column vanished")?;
            cols[k].push(c.clone());
        }
    }
    let mut out = Vec::new();
    for (k, name) in ["x", "y"].iter().enumerate() {
        let refs: Vec<&dyn arrow::array::Array> = cols[k].iter().map(|a| a.as_ref()).collect();
        let whole = if refs.is_empty() {
            bail!("no rows");
        } else {
            arrow::compute::concat(&refs)?
        };
        let t = column_tensor(name, &whole, fields.get(k))?;
        out.push(t);
    }
    let y = out.pop().context("y")?;
    let x = out.pop().context("x")?;
    Ok((x, y))
}

/// A Parquet column (one row per example) as a tensor [rows, dims...].
fn column_tensor(
    name: &str,
    col: &arrow::array::ArrayRef,
    field: Option<&arrow::datatypes::Field>,
) -> Result<Tensor> {
    let rows = col.len();
    let (leaf, mut dims) = flatten(name, col.clone())?;
    // pyarrow's fixed-shape tensor extension: a fixed-size list with the shape in metadata.
    if let Some(f) = field {
        let md = f.metadata();
        if md.get("ARROW:extension:name").map(String::as_str) == Some("arrow.fixed_shape_tensor") {
            let meta: serde_json::Value = md
                .get("ARROW:extension:metadata")
                .and_then(|s| serde_json::from_str(s).ok())
                .unwrap_or_default();
            if meta.get("permutation").is_some_and(|p| !p.is_null()) {
                bail!(
                    "`{name}` is a fixed-shape tensor with a permutation, which is not supported"
                );
            }
            let shape: Vec<usize> = meta
                .get("shape")
                .and_then(|s| s.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_u64())
                        .map(|v| v as usize)
                        .collect()
                })
                .unwrap_or_default();
            if shape.iter().product::<usize>() != dims.iter().product::<usize>() {
                bail!("`{name}`: the fixed-shape tensor's shape {shape:?} does not fit its {dims:?} values per row");
            }
            dims = shape;
        }
    }
    let mut shape = vec![rows as i64];
    shape.extend(dims.iter().map(|&d| d as i64));
    leaf_tensor(name, &leaf, &shape)
}

/// The primitive values below a (nested) list column, in row order, and the dimensions of
/// one row; lists must have the same length in every row and nothing may be null.
fn flatten(
    name: &str,
    arr: arrow::array::ArrayRef,
) -> Result<(arrow::array::ArrayRef, Vec<usize>)> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::DataType;
    if arr.null_count() > 0 {
        bail!("`{name}` has null values");
    }
    let (values, len) = match arr.data_type() {
        DataType::List(_) => {
            let l = arr.as_list::<i32>();
            let off = l.value_offsets();
            let len = rectangular(name, off.iter().map(|&o| o as usize))?;
            let start = off[0] as usize;
            (l.values().slice(start, len * l.len()), len)
        }
        DataType::LargeList(_) => {
            let l = arr.as_list::<i64>();
            let off = l.value_offsets();
            let len = rectangular(name, off.iter().map(|&o| o as usize))?;
            let start = off[0] as usize;
            (l.values().slice(start, len * l.len()), len)
        }
        DataType::FixedSizeList(_, n) => {
            let l = arr.as_fixed_size_list();
            let n = *n as usize;
            let start = if l.is_empty() {
                0
            } else {
                l.value_offset(0) as usize
            };
            (l.values().slice(start, n * l.len()), n)
        }
        _ => return Ok((arr, Vec::new())),
    };
    let (leaf, mut dims) = flatten(name, values)?;
    dims.insert(0, len);
    Ok((leaf, dims))
}

/// The common length of the lists delimited by `offsets`, or an error if they differ.
fn rectangular(name: &str, offsets: impl Iterator<Item = usize>) -> Result<usize> {
    let mut len = None;
    let mut prev = None;
    for (row, o) in offsets.enumerate() {
        if let Some(p) = prev {
            let l = o - p;
            match len {
                None => len = Some(l),
                Some(k) if k != l => bail!(
                    "`{name}` is ragged: row {} holds {l} values, the rows before {k}",
                    row - 1
                ),
                _ => {}
            }
        }
        prev = Some(o);
    }
    Ok(len.unwrap_or(0))
}

fn leaf_tensor(name: &str, leaf: &arrow::array::ArrayRef, shape: &[i64]) -> Result<Tensor> {
    use arrow::array::AsArray;
    use arrow::datatypes::*;
    match leaf.data_type() {
        DataType::UInt8 => from_slice(name, leaf.as_primitive::<UInt8Type>().values(), shape),
        DataType::Int8 => from_slice(name, leaf.as_primitive::<Int8Type>().values(), shape),
        DataType::Int16 => from_slice(name, leaf.as_primitive::<Int16Type>().values(), shape),
        DataType::Int32 => from_slice(name, leaf.as_primitive::<Int32Type>().values(), shape),
        DataType::Int64 => from_slice(name, leaf.as_primitive::<Int64Type>().values(), shape),
        DataType::UInt16 => {
            let v: Vec<i64> = leaf
                .as_primitive::<UInt16Type>()
                .values()
                .iter()
                .map(|&v| v as i64)
                .collect();
            from_slice(name, &v, shape)
        }
        DataType::UInt32 => {
            let v: Vec<i64> = leaf
                .as_primitive::<UInt32Type>()
                .values()
                .iter()
                .map(|&v| v as i64)
                .collect();
            from_slice(name, &v, shape)
        }
        DataType::Float16 => from_slice(name, leaf.as_primitive::<Float16Type>().values(), shape),
        DataType::Float32 => from_slice(name, leaf.as_primitive::<Float32Type>().values(), shape),
        DataType::Float64 => from_slice(name, leaf.as_primitive::<Float64Type>().values(), shape),
        other => Err(unsupported(name, &other.to_string().to_lowercase())),
    }
}

/// Checks that `model` takes this data and that its output fits its loss: runs it on the
/// first two examples of `split` (without gradients), checks the output's shape against
/// the targets' (see [`crate::losses::Loss::check_shapes`]), then every label of the split
/// against the output's class count. Each error names the model and says what was wrong.
pub fn check_fit(model: &crate::Model, split: &Split, train: bool) -> Result<()> {
    let device = model.store.device();
    let k = split.len().min(2) as i64;
    let x = split.images.f_narrow(0, 0, k)?.f_to_device(device)?;
    let y = split.labels.f_narrow(0, 0, k)?;
    let out = tch::no_grad(|| model.forward(&x, train)).with_context(|| {
        format!(
            "model {} cannot take x ({} {:?} for {k} examples)",
            model.name,
            kind_name(x.kind()),
            x.size()
        )
    })?;
    let loss = model.objective();
    loss.check_shapes(&out.size(), &y.size(), y.kind())
        .with_context(|| format!("model {} does not fit --loss {}", model.name, loss.name()))?;
    if loss.takes_labels() {
        let classes = *out.size().last().unwrap_or(&0);
        loss.check_labels(&split.labels, classes)
            .with_context(|| format!("model {} does not fit the targets", model.name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_st(path: &Path, tensors: &[(&str, Tensor)]) {
        Tensor::write_safetensors(tensors, path).unwrap();
    }

    #[test]
    fn safetensors_roundtrip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.safetensors");
        let x = Tensor::arange(24, (Kind::Int64, tch::Device::Cpu)).reshape([4, 6]);
        let y = Tensor::from_slice(&[1.5f32, 2.0, 3.0, 4.0]);
        write_st(&p, &[("x", x.shallow_clone()), ("y", y.shallow_clone())]);
        let i = load(&p).unwrap();
        assert!(i.x.equal(&x) && i.y.equal(&y));
        assert_eq!(i.len(), 4);
        // lengths that disagree
        write_st(&p, &[("x", x.shallow_clone()), ("y", y.narrow(0, 0, 3))]);
        let e = format!("{:#}", load(&p).unwrap_err());
        assert!(e.contains("x holds 4 examples but y holds 3"), "{e}");
        // a missing y
        write_st(&p, &[("x", x.shallow_clone()), ("z", y.shallow_clone())]);
        let e = format!("{:#}", load(&p).unwrap_err());
        assert!(e.contains("no tensor `y` (found: x, z)"), "{e}");
        // bool is not a number type here
        let b = Tensor::from_slice(&[true, false, true, true]);
        write_st(&p, &[("x", x.shallow_clone()), ("y", b)]);
        let e = format!("{:#}", load(&p).unwrap_err());
        assert!(e.contains("`y` has dtype bool"), "{e}");
        // corrupt
        std::fs::write(&p, b"\x10\x00\x00\x00\x00\x00\x00\x00{\"x\": 1").unwrap();
        assert!(load(&p).is_err());
        assert!(load(&dir.path().join("none.npz")).is_err());
    }

    #[test]
    fn parquet_nested_lists_become_dimensions() {
        use arrow::array::{Array, ArrayRef, FixedSizeListArray, Int64Array, ListArray};
        use arrow::datatypes::{DataType, Field, Int64Type};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.parquet");
        // x: 3 rows of 2x2 (list of fixed-size lists), y: 3 scalars
        let inner = Int64Array::from((0..12).collect::<Vec<i64>>());
        let fsl = FixedSizeListArray::new(
            Arc::new(Field::new("item", DataType::Int64, true)),
            2,
            Arc::new(inner),
            None,
        );
        let x = ListArray::new(
            Arc::new(Field::new("item", fsl.data_type().clone(), true)),
            arrow::buffer::OffsetBuffer::from_lengths([2, 2, 2]),
            Arc::new(fsl),
            None,
        );
        let y = Int64Array::from(vec![7i64, 8, 9]);
        let batch = arrow::record_batch::RecordBatch::try_from_iter([
            ("x", Arc::new(x) as ArrayRef),
            ("y", Arc::new(y) as ArrayRef),
        ])
        .unwrap();
        let f = std::fs::File::create(&p).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let i = load(&p).unwrap();
        assert_eq!(i.x.size(), [3, 2, 2]);
        assert_eq!(i.x.int64_value(&[2, 1, 0]), 10);
        assert_eq!(i.y.size(), [3]);
        // ragged rows are an error
        let ragged = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), Some(2)]),
            Some(vec![Some(3)]),
            Some(vec![Some(4), Some(5)]),
        ]);
        let batch = arrow::record_batch::RecordBatch::try_from_iter([
            ("x", Arc::new(ragged) as ArrayRef),
            (
                "y",
                Arc::new(Int64Array::from(vec![1i64, 2, 3])) as ArrayRef,
            ),
        ])
        .unwrap();
        let f = std::fs::File::create(&p).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let e = format!("{:#}", load(&p).unwrap_err());
        assert!(e.contains("ragged"), "{e}");
    }
}
