//! The studies' networks, selectable by name.
//!
//! A [`Model`] is a [`ParamStore`] (named parameters and buffers in creation order, which
//! is the gradient matrix's layout) plus a network whose `forward` maps a batch of images
//! (N, C, H, W) to class logits (N, classes). Each family lives in its own file and
//! documents its source and parameter arithmetic; the counts are unit tests below.

pub mod alexnet;
pub mod cnn;
pub mod layers;
pub mod lenet;
pub mod mlp;
pub mod resnet;
pub mod vgg;

use crate::losses::Loss;
use crate::params::ParamStore;
use anyhow::{bail, Context, Result};
use cnn::{Cnn, CnnConfig};
use mlp::{Mlp, MlpConfig};
use tch::{Device, Kind, Tensor};

/// The input a model is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputSpec {
    pub channels: i64,
    pub height: i64,
    pub width: i64,
    pub classes: i64,
}

impl InputSpec {
    /// MNIST / Fashion-MNIST: 1x28x28, 10 classes.
    pub const MNIST: InputSpec = InputSpec {
        channels: 1,
        height: 28,
        width: 28,
        classes: 10,
    };
    /// CIFAR-10: 3x32x32, 10 classes.
    pub const CIFAR10: InputSpec = InputSpec {
        channels: 3,
        height: 32,
        width: 32,
        classes: 10,
    };

    /// Values per image.
    pub fn numel(&self) -> i64 {
        self.channels * self.height * self.width
    }
}

/// A network's forward pass.
pub trait Net {
    /// Logits for a batch; `train` selects BatchNorm's batch statistics (and updates the
    /// running ones) instead of the running statistics.
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor>;

    /// The output of the first layer, for networks whose first layer reads the input
    /// alone and is affine in its own parameters (z = x W^T + b), with
    /// `forward(x) = after_first(first_layer(x))` operation for operation. Why: on a line
    /// theta(alpha) = theta_0 + alpha (theta_1 - theta_0) in parameter space such a layer
    /// gives exactly z(alpha) = z_0 + alpha (z_1 - z_0), so `interp-loss` evaluates the
    /// interior points of a line without the first layer's matrix products. None when the
    /// network has no such split.
    fn first_layer(&self, _x: &Tensor) -> Option<Result<Tensor>> {
        None
    }

    /// The logits from the first layer's output (see [`Net::first_layer`]).
    fn after_first(&self, _z: &Tensor, _train: bool) -> Result<Tensor> {
        bail!("this network has no first-layer split")
    }

    /// The (weight, bias) of each layer when the network is exactly flatten, then
    /// (linear, ReLU) per hidden layer, then a linear classifier, with nothing else (no
    /// BatchNorm): the networks whose Hessian-vector products
    /// [`crate::hessian_rop`] computes by hand, a third cheaper than double backward.
    /// None for every other network.
    fn relu_layers(&self) -> Option<Vec<(Tensor, Option<Tensor>)>> {
        None
    }
}

/// One model of the registry: the name `--model` takes, what it is (the study it comes
/// from, its shape and parameter count on its default input), and how it is built.
#[derive(Clone, Copy)]
pub struct ModelEntry {
    pub name: &'static str,
    pub description: &'static str,
    /// Creates the network's parameters in `store` (their creation order is the layout).
    pub build: fn(&mut ParamStore, &InputSpec) -> Result<Box<dyn Net>>,
}

impl std::fmt::Debug for ModelEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelEntry")
            .field("name", &self.name)
            .field("description", &self.description)
            .finish()
    }
}

/// A registry entry (keeps each entry of [`MODELS`] to one call).
const fn model(
    name: &'static str,
    description: &'static str,
    build: fn(&mut ParamStore, &InputSpec) -> Result<Box<dyn Net>>,
) -> ModelEntry {
    ModelEntry {
        name,
        description,
        build,
    }
}

/// Every model `--model` accepts, in the order `train --list-models` shows them: a model
/// is added here and nowhere else.
pub const MODELS: &[ModelEntry] = &[
    model(
        "fnn",
        "vMF: 784-800-10, no biases, Xavier (635,200)",
        |s, i| Ok(Box::new(Mlp::new(s, i, &MlpConfig::vmf(1, false))?)),
    ),
    model(
        "fnn-bn",
        "vMF: fnn with BatchNorm before the ReLU (636,800)",
        |s, i| Ok(Box::new(Mlp::new(s, i, &MlpConfig::vmf(1, true))?)),
    ),
    model(
        "dfnn",
        "vMF: three hidden layers of 800 (1,915,200)",
        |s, i| Ok(Box::new(Mlp::new(s, i, &MlpConfig::vmf(3, false))?)),
    ),
    model("dfnn-bn", "vMF: dfnn with BatchNorm (1,920,000)", |s, i| {
        Ok(Box::new(Mlp::new(s, i, &MlpConfig::vmf(3, true))?))
    }),
    model(
        "cnn",
        "vMF: 13 3x3 convs {16;4x16,4x32,3x64,1x128}, GAP, linear (text: 209,072)",
        |s, i| Ok(Box::new(Cnn::new(s, i, &CnnConfig::text(false, false))?)),
    ),
    model(
        "cnn-bn",
        "vMF: cnn with BatchNorm (text: 210,128)",
        |s, i| Ok(Box::new(Cnn::new(s, i, &CnnConfig::text(true, false))?)),
    ),
    model(
        "cnn-res",
        "vMF: cnn with identity shortcuts every two convs",
        |s, i| Ok(Box::new(Cnn::new(s, i, &CnnConfig::text(false, true))?)),
    ),
    model("cnn-res-bn", "vMF: cnn-res with BatchNorm", |s, i| {
        Ok(Box::new(Cnn::new(s, i, &CnnConfig::text(true, true))?))
    }),
    model(
        "cnn-t1",
        "vMF: the reading that gives Table 1's 206,128 ({16;3x16,4x32,5x64})",
        |s, i| Ok(Box::new(Cnn::new(s, i, &CnnConfig::table1(false, false))?)),
    ),
    model(
        "cnn-t1-bn",
        "vMF: cnn-t1 with BatchNorm (207,152)",
        |s, i| Ok(Box::new(Cnn::new(s, i, &CnnConfig::table1(true, false))?)),
    ),
    model("cnn-t1-res", "vMF: cnn-t1 with shortcuts", |s, i| {
        Ok(Box::new(Cnn::new(s, i, &CnnConfig::table1(false, true))?))
    }),
    model("cnn-t1-res-bn", "vMF: cnn-t1-res with BatchNorm", |s, i| {
        Ok(Box::new(Cnn::new(s, i, &CnnConfig::table1(true, true))?))
    }),
    model(
        "alexnet-cifar",
        "Gaussianity: AlexNet for CIFAR, 5 conv + 3 linear",
        |s, i| Ok(Box::new(alexnet::AlexNetCifar::new(s, i, false)?)),
    ),
    model(
        "alexnet-cifar-bn",
        "Gaussianity: alexnet-cifar with BatchNorm before each ReLU",
        |s, i| Ok(Box::new(alexnet::AlexNetCifar::new(s, i, true)?)),
    ),
    model(
        "resnet20",
        "Gaussianity: CIFAR ResNet-20, option A shortcuts (269,722)",
        |s, i| Ok(Box::new(resnet::ResNet::cifar(s, i, 3)?)),
    ),
    model(
        "resnet56",
        "Gaussianity, walk: CIFAR ResNet-56 (853,018)",
        |s, i| Ok(Box::new(resnet::ResNet::cifar(s, i, 9)?)),
    ),
    model("lenet", "Structure: LeNet-5 (61,706 on MNIST)", |s, i| {
        Ok(Box::new(lenet::LeNet::new(s, i)?))
    }),
    model(
        "fcn",
        "Structure: two hidden layers of 70, ReLU, BatchNorm",
        |s, i| Ok(Box::new(Mlp::new(s, i, &MlpConfig::fcn())?)),
    ),
    model(
        "fcn-w30",
        "Structure: fcn with 30 units a layer (24,910)",
        |s, i| Ok(Box::new(Mlp::new(s, i, &MlpConfig::fcn_sized(&[30, 30]))?)),
    ),
    model(
        "fcn-w10",
        "Structure: fcn with 10 units a layer (8,110)",
        |s, i| Ok(Box::new(Mlp::new(s, i, &MlpConfig::fcn_sized(&[10, 10]))?)),
    ),
    model(
        "fcn1",
        "Structure: fcn with one hidden layer of 70 (55,800)",
        |s, i| Ok(Box::new(Mlp::new(s, i, &MlpConfig::fcn_sized(&[70]))?)),
    ),
    model(
        "lnn",
        "Structure: linear, four hidden layers of 70 (70,570)",
        |s, i| Ok(Box::new(Mlp::new(s, i, &MlpConfig::lnn(false, false))?)),
    ),
    model(
        "lnn-bn",
        "Structure: lnn with BatchNorm (71,130)",
        |s, i| Ok(Box::new(Mlp::new(s, i, &MlpConfig::lnn(true, false))?)),
    ),
    model("lnn-relu", "Structure: lnn with ReLU (70,570)", |s, i| {
        Ok(Box::new(Mlp::new(s, i, &MlpConfig::lnn(false, true))?))
    }),
    model(
        "resnet18",
        "Structure: ResNet-18, CIFAR adaptation (11,173,962)",
        |s, i| Ok(Box::new(resnet::ResNet::resnet18(s, i)?)),
    ),
    model("mlp", "Walk: 784-512-512-10 with biases", |s, i| {
        Ok(Box::new(Mlp::new(s, i, &MlpConfig::walk())?))
    }),
    model(
        "vgg11",
        "Walk: VGG-11 for 32x32 inputs (9,225,610)",
        |s, i| Ok(Box::new(vgg::Vgg::vgg11(s, i, false)?)),
    ),
    model(
        "vgg11-bn",
        "Walk: VGG-11 with BatchNorm (9,231,114)",
        |s, i| Ok(Box::new(vgg::Vgg::vgg11(s, i, true)?)),
    ),
];

/// The registry's entry for `name`; an unknown name is an error listing the known ones.
pub fn lookup(name: &str) -> Result<&'static ModelEntry> {
    match MODELS.iter().find(|m| m.name == name) {
        Some(m) => Ok(m),
        None => {
            let names: Vec<&str> = MODELS.iter().map(|m| m.name).collect();
            bail!("unknown model {name:?}; known models: {}", names.join(", "))
        }
    }
}

/// A built model: its parameters and its network.
pub struct Model {
    pub name: String,
    pub spec: InputSpec,
    pub store: ParamStore,
    net: Box<dyn Net>,
    /// What [`Model::loss`] computes (cross-entropy unless [`Model::with_loss`] says).
    objective: Loss,
    /// Inputs of any shape reach the network (a user's module on a user's `x`), instead
    /// of batches of `spec`'s images only.
    any_input: bool,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("name", &self.name)
            .field("spec", &self.spec)
            .field("numel", &self.store.numel())
            .finish()
    }
}

impl Model {
    /// Builds model `name` for inputs `spec` on `device`, initialised from libtorch's
    /// generator (seed it first with `tch::manual_seed`).
    pub fn new(name: &str, spec: &InputSpec, device: Device) -> Result<Self> {
        let mut s = ParamStore::new(device);
        let built = lookup(name).and_then(|m| (m.build)(&mut s, spec));
        let net = built.with_context(|| {
            format!(
                "cannot build model {name} for {}x{}x{} inputs and {} classes",
                spec.channels, spec.height, spec.width, spec.classes
            )
        })?;
        Ok(Self {
            name: name.to_string(),
            spec: *spec,
            store: s,
            net,
            objective: Loss::CrossEntropy,
            any_input: false,
        })
    }

    /// A model from parts: a store whose parameters `net` uses (for networks that are not
    /// in [`MODELS`], such as the tiny ones the Hessian tests build).
    pub fn from_parts(name: &str, spec: &InputSpec, store: ParamStore, net: Box<dyn Net>) -> Self {
        Self {
            name: name.to_string(),
            spec: *spec,
            store,
            net,
            objective: Loss::CrossEntropy,
            any_input: false,
        }
    }

    /// The same model with another loss for [`Model::loss`] (see [`crate::losses`]).
    pub fn with_loss(mut self, loss: Loss) -> Self {
        self.objective = loss;
        self
    }

    /// The same model passing inputs of any shape to its network (which then checks them
    /// itself): a user's module on a user's data, whose `x` need not be images.
    pub fn accepting_any_input(mut self) -> Self {
        self.any_input = true;
        self
    }

    /// The loss [`Model::loss`] computes.
    pub fn objective(&self) -> Loss {
        self.objective
    }

    /// A user's TorchScript module (`torch.jit.script(model).save(path)`): a callable
    /// mapping images (N, C, H, W) to logits, whose parameters (named as
    /// `named_parameters()` names them) become the layout. The module stays in training
    /// mode (`train` = true: BatchNorm with minibatch statistics) or evaluation mode, as set
    /// here, whatever `forward` is asked.
    pub fn from_torchscript(
        path: &std::path::Path,
        spec: &InputSpec,
        device: Device,
        train: bool,
    ) -> Result<Self> {
        let m = crate::torchscript::load(path, spec, device, train, Loss::CrossEntropy)?;
        let x = Tensor::f_zeros(
            [2, spec.channels, spec.height, spec.width],
            (Kind::Float, device),
        )?;
        let y = tch::no_grad(|| m.forward(&x, train)).with_context(|| {
            format!(
                "TorchScript module {} cannot take {}x{}x{} inputs",
                path.display(),
                spec.channels,
                spec.height,
                spec.width
            )
        })?;
        if y.size() != [2, spec.classes] {
            bail!(
                "TorchScript module {} returns shape {:?} for 2 inputs, expected [2, {}] logits",
                path.display(),
                y.size(),
                spec.classes
            );
        }
        Ok(m)
    }

    /// Logits for a batch of images (N, C, H, W); a batch of another shape is an error.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.check_input(x)?;
        self.net.forward(x, train)
    }

    fn check_input(&self, x: &Tensor) -> Result<()> {
        if self.any_input {
            return Ok(());
        }
        let size = x.size();
        let want = [self.spec.channels, self.spec.height, self.spec.width];
        if size.len() != 4 || size[1..] != want {
            bail!(
                "model {} expects batches of {}x{}x{} images, got a tensor of shape {size:?}",
                self.name,
                want[0],
                want[1],
                want[2]
            );
        }
        Ok(())
    }

    /// The minibatch's mean loss (cross-entropy of the logits against integer labels
    /// unless [`Model::with_loss`] chose another), with the network's output.
    pub fn loss(&self, x: &Tensor, labels: &Tensor, train: bool) -> Result<(Tensor, Tensor)> {
        let logits = self.forward(x, train)?;
        let loss = self.objective.apply(&logits, labels)?;
        Ok((loss, logits))
    }

    /// The first layer's output for a batch of images, when the network's first layer is
    /// affine in its own parameters (see [`Net::first_layer`]); None otherwise.
    pub fn first_layer(&self, x: &Tensor) -> Result<Option<Tensor>> {
        self.check_input(x)?;
        self.net.first_layer(x).transpose()
    }

    /// The layers of a plain ReLU network (see [`Net::relu_layers`]); None otherwise.
    pub fn relu_layers(&self) -> Option<Vec<(Tensor, Option<Tensor>)>> {
        self.net.relu_layers()
    }

    /// [`Model::loss`] from the first layer's output: the same numbers as `loss` on the
    /// images that gave `z`.
    pub fn loss_after_first(
        &self,
        z: &Tensor,
        labels: &Tensor,
        train: bool,
    ) -> Result<(Tensor, Tensor)> {
        let logits = self.net.after_first(z, train)?;
        let loss = self.objective.apply(&logits, labels)?;
        Ok((loss, logits))
    }
}

/// The number of features a convolutional trunk produces for one input of `spec`, found by
/// running it on zeros; an input too small for the trunk becomes an error here.
pub fn flat_features(
    spec: &InputSpec,
    device: Device,
    trunk: impl Fn(&Tensor) -> Result<Tensor>,
) -> Result<i64> {
    let x = Tensor::f_zeros(
        [1, spec.channels, spec.height, spec.width],
        (Kind::Float, device),
    )?;
    let y = tch::no_grad(|| trunk(&x))?;
    Ok(y.numel() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(name: &str, spec: &InputSpec) -> usize {
        Model::new(name, spec, Device::Cpu).unwrap().store.numel()
    }

    #[test]
    fn vmf_counts_match_the_paper() {
        assert_eq!(count("fnn", &InputSpec::MNIST), 635_200);
        assert_eq!(count("fnn-bn", &InputSpec::MNIST), 636_800);
        assert_eq!(count("dfnn", &InputSpec::MNIST), 1_915_200);
        assert_eq!(count("dfnn-bn", &InputSpec::MNIST), 1_920_000);
        // the text's reading (see cnn.rs for the arithmetic)
        assert_eq!(count("cnn", &InputSpec::CIFAR10), 209_072);
        assert_eq!(count("cnn-res", &InputSpec::CIFAR10), 209_072);
        assert_eq!(count("cnn-bn", &InputSpec::CIFAR10), 210_128);
        assert_eq!(count("cnn-res-bn", &InputSpec::CIFAR10), 210_128);
        // Table 1's dimensions
        assert_eq!(count("cnn-t1", &InputSpec::CIFAR10), 206_128);
        assert_eq!(count("cnn-t1-res", &InputSpec::CIFAR10), 206_128);
        assert_eq!(count("cnn-t1-bn", &InputSpec::CIFAR10), 207_152);
        assert_eq!(count("cnn-t1-res-bn", &InputSpec::CIFAR10), 207_152);
    }

    #[test]
    fn other_studies_counts() {
        assert_eq!(count("lenet", &InputSpec::MNIST), 61_706);
        // 784*70+70 + 70*70+70 + 70*10+10 + BN 2*(70+70)
        assert_eq!(count("fcn", &InputSpec::MNIST), 60_910);
        // Table 6's widths and depth: 784*w+w + w*w+w + w*10+10 + BN 2*(w+w)
        assert_eq!(count("fcn-w30", &InputSpec::MNIST), 24_910);
        assert_eq!(count("fcn-w10", &InputSpec::MNIST), 8_110);
        // 784*70+70 + 70*10+10 + BN 2*70
        assert_eq!(count("fcn1", &InputSpec::MNIST), 55_800);
        // Table 7: 784*70+70 + 3*(70*70+70) + 70*10+10, BatchNorm + 4*2*70
        assert_eq!(count("lnn", &InputSpec::MNIST), 70_570);
        assert_eq!(count("lnn-relu", &InputSpec::MNIST), 70_570);
        assert_eq!(count("lnn-bn", &InputSpec::MNIST), 71_130);
        assert_eq!(count("mlp", &InputSpec::MNIST), 669_706);
        assert_eq!(count("resnet20", &InputSpec::CIFAR10), 269_722);
        assert_eq!(count("resnet56", &InputSpec::CIFAR10), 853_018);
        assert_eq!(count("resnet18", &InputSpec::CIFAR10), 11_173_962);
        assert_eq!(count("vgg11", &InputSpec::CIFAR10), 9_225_610);
        assert_eq!(count("vgg11-bn", &InputSpec::CIFAR10), 9_231_114);
    }

    /// The structure study's linear network is one affine map x -> x A^T + c with
    /// A = W5 W4 W3 W2 W1 and c folded from the biases layer by layer: the network's logits
    /// must equal that map, composed here independently of the network's code, and its
    /// ReLU variant must not (its hidden layers clip). The layout is five linear layers
    /// (784-70-70-70-70-10), with BatchNorm's four pairs only in `lnn-bn`.
    #[test]
    fn lnn_is_one_affine_map_and_its_relu_variant_is_not() {
        tch::manual_seed(3);
        let x = Tensor::randn([6, 1, 28, 28], (Kind::Float, Device::Cpu));
        let flat = x.flatten(1, -1).to_kind(Kind::Double);
        for (name, linear) in [("lnn", true), ("lnn-relu", false)] {
            let m = Model::new(name, &InputSpec::MNIST, Device::Cpu).unwrap();
            let p = m.store.params();
            let shapes: Vec<(String, Vec<i64>)> = p
                .iter()
                .map(|q| (q.name.clone(), q.tensor.size()))
                .collect();
            let want: Vec<(String, Vec<i64>)> = [(784, 70), (70, 70), (70, 70), (70, 70), (70, 10)]
                .iter()
                .enumerate()
                .flat_map(|(i, &(a, b))| {
                    [
                        (format!("fc{}.weight", i + 1), vec![b, a]),
                        (format!("fc{}.bias", i + 1), vec![b]),
                    ]
                })
                .collect();
            assert_eq!(shapes, want, "{name}");
            let mut h = flat.shallow_clone();
            for q in p.chunks(2) {
                let (w, b) = (
                    q[0].tensor.to_kind(Kind::Double),
                    q[1].tensor.to_kind(Kind::Double),
                );
                h = h.matmul(&w.tr()) + b;
            }
            let logits = tch::no_grad(|| m.forward(&x, false).unwrap()).to_kind(Kind::Double);
            let diff = (&logits - &h).abs().max().double_value(&[]);
            let scale = h.abs().max().double_value(&[]);
            if linear {
                assert!(diff <= 1e-5 * scale, "{name}: {diff} against {scale}");
            } else {
                assert!(diff > 1e-3 * scale, "{name}: ReLU changed nothing ({diff})");
            }
        }
        let bn = Model::new("lnn-bn", &InputSpec::MNIST, Device::Cpu).unwrap();
        let names: Vec<String> = bn.store.params().iter().map(|q| q.name.clone()).collect();
        assert_eq!(names.iter().filter(|n| n.starts_with("bn")).count(), 8);
        assert!(bn.relu_layers().is_none());
        assert!(Model::new("lnn", &InputSpec::MNIST, Device::Cpu)
            .unwrap()
            .relu_layers()
            .is_none());
        assert_eq!(
            Model::new("lnn-relu", &InputSpec::MNIST, Device::Cpu)
                .unwrap()
                .relu_layers()
                .map(|l| l.len()),
            Some(5)
        );
    }

    /// Loss and per-parameter gradient norms of `lnn`, `lnn-bn` and `lnn-relu` in training
    /// mode against the same networks written as PyTorch modules (float64), on the
    /// deterministic parameters and images that scripts/reference/lnn_reference.py
    /// documents and printed these values from (torch 2.13.0). Within 5e-5 relative
    /// (f32 here); the biases before a BatchNorm have no gradient (the reference's are
    /// 1e-16), so theirs must be below 1e-5.
    #[test]
    fn lnn_matches_pytorch() {
        #[allow(clippy::type_complexity)]
        let reference: &[(&str, f64, &[f64])] = &[
            (
                "lnn",
                2.309810900200e+00,
                &[
                    7.036479880940e-03,
                    1.417986788532e-04,
                    2.507313592919e-03,
                    1.386367801325e-03,
                    7.191944325386e-03,
                    9.694504588621e-03,
                    4.093295331398e-02,
                    6.426151980412e-02,
                    9.977083733852e-02,
                    1.624687152810e-01,
                ],
            ),
            (
                "lnn-bn",
                2.453281549423e+00,
                &[
                    1.488317908641e+02,
                    8.722086349119e-16,
                    6.155485350141e-01,
                    3.394477536441e-16,
                    3.489892684368e+01,
                    7.646727196508e-16,
                    3.526340980717e-01,
                    1.789389548498e-16,
                    2.276074984614e+01,
                    4.010976007509e-16,
                    4.626558365063e-01,
                    1.275759094141e-16,
                    1.687741773041e+01,
                    3.007861347689e-16,
                    2.150918307542e-01,
                    6.124596593230e-02,
                    3.123066261337e+00,
                    1.704900114710e-01,
                ],
            ),
            (
                "lnn-relu",
                2.306136312555e+00,
                &[
                    6.715266755605e-02,
                    2.339078373338e-03,
                    5.630385771039e-03,
                    6.863393200715e-03,
                    6.722823490061e-03,
                    1.775859658939e-02,
                    1.743421967016e-02,
                    5.386795375752e-02,
                    3.838274062706e-02,
                    1.602601519822e-01,
                ],
            ),
        ];
        let images: Vec<f32> = (0..8)
            .flat_map(|i| (0..784).map(move |k| (0.013 * k as f64 + 0.5 * i as f64).cos() as f32))
            .collect();
        let x = Tensor::from_slice(&images).reshape([8, 1, 28, 28]);
        let y = Tensor::from_slice(&(0..8i64).map(|i| i % 10).collect::<Vec<_>>());
        for &(name, loss_ref, norms_ref) in reference {
            let m = Model::new(name, &InputSpec::MNIST, Device::Cpu).unwrap();
            let mut named = m.store.named_tensors();
            for (t, p) in m.store.params().iter().enumerate() {
                let bn_weight = p.name.starts_with("bn") && p.name.ends_with("weight");
                let v: Vec<f32> = (0..p.tensor.numel())
                    .map(|k| {
                        let s = (0.37 * k as f64 + t as f64).sin();
                        (if bn_weight { 1.0 + 0.1 * s } else { 0.05 * s }) as f32
                    })
                    .collect();
                let slot = named.iter_mut().find(|(n, _)| n == &p.name).unwrap();
                slot.1 = Tensor::from_slice(&v).reshape(p.tensor.size());
            }
            m.store.load_from(&named, name).unwrap();
            let (loss, _) = m.loss(&x, &y, true).unwrap();
            let l = loss.double_value(&[]);
            assert!(
                (l - loss_ref).abs() <= 5e-5 * loss_ref,
                "{name}: loss {l} against {loss_ref}"
            );
            loss.backward();
            assert_eq!(m.store.params().len(), norms_ref.len(), "{name}");
            for (p, &r) in m.store.params().iter().zip(norms_ref) {
                let g = p.tensor.grad().norm().double_value(&[]);
                if r < 1e-10 {
                    assert!(g < 1e-5, "{name} {}: {g}, PyTorch {r}", p.name);
                } else {
                    assert!(
                        (g - r).abs() <= 5e-5 * r,
                        "{name} {}: {g}, PyTorch {r}",
                        p.name
                    );
                }
            }
        }
    }

    #[test]
    fn gaussianity_layer_sizes() {
        let m = Model::new("alexnet-cifar", &InputSpec::CIFAR10, Device::Cpu).unwrap();
        let sizes: Vec<usize> = m
            .store
            .params()
            .iter()
            .filter(|n| n.name.ends_with("weight"))
            .map(|n| n.tensor.numel())
            .collect();
        assert_eq!(sizes[..5], [23_232, 307_200, 663_552, 884_736, 589_824]);
        assert_eq!(*sizes.last().unwrap(), 2_560);
        let r = Model::new("resnet56", &InputSpec::CIFAR10, Device::Cpu).unwrap();
        let w: Vec<usize> = r
            .store
            .params()
            .iter()
            .filter(|n| n.name.contains("conv") || n.name == "fc.weight")
            .map(|n| n.tensor.numel())
            .collect();
        assert_eq!(w[0], 432);
        assert_eq!(*w.last().unwrap(), 640);
        assert!(
            w.contains(&2_304)
                && w.contains(&4_608)
                && w.contains(&9_216)
                && w.contains(&18_432)
                && w.contains(&36_864)
        );
    }

    #[test]
    fn every_model_runs_forward_and_backward() {
        for name in MODELS.iter().map(|m| &m.name) {
            if ["resnet18", "vgg11", "vgg11-bn", "resnet56"].contains(name) {
                continue; // large; covered by the count test
            }
            let mnist = ["fnn", "fnn-bn", "dfnn", "dfnn-bn", "mlp", "lenet"];
            let spec = if mnist.contains(name) || name.starts_with("fcn") || name.starts_with("lnn")
            {
                InputSpec::MNIST
            } else {
                InputSpec::CIFAR10
            };
            let m = Model::new(name, &spec, Device::Cpu).unwrap();
            let x = Tensor::rand(
                [4, spec.channels, spec.height, spec.width],
                (Kind::Float, Device::Cpu),
            );
            let y = Tensor::from_slice(&[0i64, 1, 2, 3]);
            let (loss, logits) = m.loss(&x, &y, true).unwrap();
            assert_eq!(logits.size(), [4, 10], "{name}");
            loss.backward();
            assert!(
                m.store.params().iter().all(|p| p.tensor.grad().defined()),
                "{name}"
            );
        }
    }

    #[test]
    fn errors_are_messages() {
        let e = Model::new("nope", &InputSpec::MNIST, Device::Cpu).unwrap_err();
        assert!(format!("{e:#}").contains("known models"));
        let e = Model::new(
            "vgg11",
            &InputSpec {
                channels: 1,
                height: 8,
                width: 8,
                classes: 10,
            },
            Device::Cpu,
        )
        .unwrap_err();
        assert!(
            format!("{e:#}").contains("cannot build model vgg11"),
            "{e:#}"
        );
        let m = Model::new("fnn", &InputSpec::MNIST, Device::Cpu).unwrap();
        let x = Tensor::zeros([2, 3, 32, 32], (Kind::Float, Device::Cpu));
        assert!(m.forward(&x, false).is_err());
    }
}
