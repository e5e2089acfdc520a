//! Checkpoints (issue 3 item 6, issue 13 item 3): one safetensors file with everything needed to continue a
//! run exactly, for a head trained on features ([`Checkpoint`]) or a network trained on images
//! ([`ImageCheckpoint`]).
//!
//! * tensors `model.<path>`: every parameter and buffer of the head (`model.neck.fc.weight`, …, the BN
//!   running statistics included) or of the whole network (`model.backbone.…`, `model.head.…`), f32 in
//!   burn's layout (linear weights are `[d_in, d_out]`);
//! * tensors `momentum.<path>`: the SGD momentum buffers, flattened;
//! * metadata `mllt.config` (the run's TOML), `mllt.seed`, `mllt.epochs_done`, `mllt.iteration` (global
//!   iterations done), `mllt.rng` (the dropout ChaCha stream: seed, stream, word position) and
//!   `mllt.classes` (the class names, JSON);
//! * image runs add `mllt.backbone`, `mllt.image_size`, `mllt.backbone_lr_scale`, `mllt.weights` (where the
//!   backbone's initial weights came from) and the position inside the epoch that `mllt.epochs_done` counts up to:
//!   `mllt.epoch_iteration` (its iterations done; 0 at an epoch boundary), `mllt.epoch_loss_sum` (the f32 sum
//!   of their losses, from which the epoch's mean continues) and `mllt.epoch_seconds`.
//!
//! Files are written atomically (temp file, then rename).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, TensorData};
use mllt_core::atomic::write_atomic;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::TrainError;
use super::config::TrainConfig;
use crate::features::{f32_bytes, parse_safetensors, read_safetensors, sorted_header, view_to_f32};
use crate::model::{BackboneKind, BackboneWeights, Head, HeadConfig, ImageNetwork, LabelGraph};

/// The checkpoint file inside a run's output folder.
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";

const MODEL_PREFIX: &str = "model.";
const MOMENTUM_PREFIX: &str = "momentum.";

/// The state of a run at an epoch boundary.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub config: TrainConfig,
    pub seed: u64,
    pub class_names: Vec<String>,
    /// Completed epochs.
    pub epochs_done: usize,
    /// Completed global iterations.
    pub iteration: usize,
    /// The dropout stream, positioned where the next epoch continues.
    pub rng: ChaCha8Rng,
    pub model: Head,
    /// SGD momentum buffers, flattened, keyed by module path.
    pub velocity: BTreeMap<String, Tensor<1>>,
}

/// The state of an image run (backbone and head trained together), at an epoch boundary or inside an epoch.
#[derive(Debug, Clone)]
pub struct ImageCheckpoint {
    pub config: TrainConfig,
    pub seed: u64,
    pub class_names: Vec<String>,
    pub backbone: BackboneKind,
    /// Images are resized to `image_size × image_size`.
    pub image_size: usize,
    /// The backbone's learning rate as a multiple of the schedule's.
    pub backbone_lr_scale: f64,
    /// Where the backbone's initial weights came from: `none`, `cached` or the file given.
    pub weights: String,
    /// Completed epochs.
    pub epochs_done: usize,
    /// Completed global iterations.
    pub iteration: usize,
    /// Iterations done in the epoch after the completed ones (0 at an epoch boundary).
    pub epoch_iteration: usize,
    /// The sum of those iterations' losses, as the running mean accumulates it.
    pub epoch_loss_sum: f32,
    /// Seconds spent on those iterations.
    pub epoch_seconds: f64,
    /// The dropout stream, positioned where the next iteration continues.
    pub rng: ChaCha8Rng,
    pub network: ImageNetwork,
    /// SGD momentum buffers, flattened, keyed by module path.
    pub velocity: BTreeMap<String, Tensor<1>>,
}

/// How `weights` is recorded in a checkpoint (`mllt.weights`).
pub(crate) fn weights_name(weights: &BackboneWeights) -> String {
    match weights {
        BackboneWeights::Random => "none".into(),
        BackboneWeights::Cached => "cached".into(),
        BackboneWeights::File(path) => path.display().to_string(),
    }
}

/// Collects `(path, tensor)` of every float parameter, in module order.
#[derive(Default)]
struct Collect {
    path: Vec<String>,
    tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
}

impl ModuleVisitor for Collect {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let data = param.val().into_data();
        let shape = data.shape().to_vec();
        let values = data.try_into_vec_as::<f32>().expect("f32 data");
        self.tensors.push((
            format!("{MODEL_PREFIX}{}", self.path.join(".")),
            shape,
            values,
        ));
    }
}

/// Replaces every float parameter by the tensor of the same path in a checkpoint.
struct Restore<'a> {
    st: &'a SafeTensors<'a>,
    file: &'a Path,
    path: Vec<String>,
    error: Option<TrainError>,
}

impl Restore<'_> {
    fn load<const D: usize>(&self, name: &str, like: &Tensor<D>) -> Result<Tensor<D>, TrainError> {
        let bad = |message: String| TrainError::checkpoint(self.file, message);
        let view = self
            .st
            .tensor(name)
            .map_err(|_| bad(format!("no tensor `{name}`")))?;
        let dims = like.dims();
        if view.shape() != dims.as_slice() {
            return Err(bad(format!(
                "tensor `{name}` has shape {:?}; the model needs {dims:?}",
                view.shape()
            )));
        }
        let values = view_to_f32(&view, self.file, name)?;
        Ok(Tensor::from_data(
            TensorData::new(values, dims),
            &like.device(),
        ))
    }
}

impl ModuleMapper for Restore<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.error.is_some() {
            return param;
        }
        let name = format!("{MODEL_PREFIX}{}", self.path.join("."));
        let (id, tensor, mapper) = param.consume();
        match self.load(&name, &tensor) {
            Ok(loaded) => {
                let loaded = loaded.set_require_grad(tensor.is_require_grad());
                Param::from_mapped_value(id, loaded, mapper)
            }
            Err(e) => {
                self.error = Some(e);
                Param::from_mapped_value(id, tensor, mapper)
            }
        }
    }
}

fn rng_to_string(rng: &ChaCha8Rng) -> String {
    let seed: String = rng.get_seed().iter().map(|b| format!("{b:02x}")).collect();
    format!("{seed}:{}:{}", rng.get_stream(), rng.get_word_pos())
}

fn rng_from_string(s: &str) -> Option<ChaCha8Rng> {
    let mut parts = s.split(':');
    let hex = parts.next()?;
    let stream: u64 = parts.next()?.parse().ok()?;
    let word_pos: u128 = parts.next()?.parse().ok()?;
    if hex.len() != 64 || parts.next().is_some() {
        return None;
    }
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    let mut rng = ChaCha8Rng::from_seed(seed);
    rng.set_stream(stream);
    rng.set_word_pos(word_pos);
    Some(rng)
}

/// The metadata every checkpoint carries: the run's identity and how far it got.
struct RunMeta {
    config: TrainConfig,
    seed: u64,
    class_names: Vec<String>,
    epochs_done: usize,
    iteration: usize,
    rng: ChaCha8Rng,
}

impl RunMeta {
    /// The metadata entries (`mllt.config`, …).
    fn entries(&self) -> Vec<(&'static str, String)> {
        vec![
            ("mllt.config", self.config.to_toml()),
            ("mllt.seed", self.seed.to_string()),
            ("mllt.epochs_done", self.epochs_done.to_string()),
            ("mllt.iteration", self.iteration.to_string()),
            ("mllt.rng", rng_to_string(&self.rng)),
            (
                "mllt.classes",
                serde_json::to_string(&self.class_names).expect("strings serialise"),
            ),
        ]
    }

    fn read(file: &CheckpointFile) -> Result<RunMeta, TrainError> {
        let path = file.path;
        let config = TrainConfig::from_toml(
            file.get("mllt.config")?,
            &format!("{}: metadata mllt.config", path.display()),
        )?;
        let class_names: Vec<String> =
            serde_json::from_str(file.get("mllt.classes")?).map_err(|_| {
                TrainError::checkpoint(path, "metadata `mllt.classes` is not a JSON list of names")
            })?;
        let rng = rng_from_string(file.get("mllt.rng")?)
            .ok_or_else(|| TrainError::checkpoint(path, "metadata `mllt.rng` is malformed"))?;
        Ok(RunMeta {
            config,
            seed: file.parse("mllt.seed")?,
            class_names,
            epochs_done: file.parse("mllt.epochs_done")?,
            iteration: file.parse("mllt.iteration")?,
            rng,
        })
    }
}

/// A tensor stored beside a module's parameters: its name, dtype, shape and little-endian bytes.
pub(crate) struct RawTensor {
    pub(crate) name: String,
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    pub(crate) bytes: Vec<u8>,
}

impl RawTensor {
    /// An f32 tensor.
    pub(crate) fn f32(name: String, shape: Vec<usize>, values: &[f32]) -> Self {
        RawTensor {
            name,
            dtype: Dtype::F32,
            shape,
            bytes: f32_bytes(values),
        }
    }
}

/// Writes the momentum buffers and `meta` with `model`'s parameters and buffers (see [`write_module`]).
fn write_checkpoint<M: Module>(
    path: &Path,
    model: &M,
    velocity: &BTreeMap<String, Tensor<1>>,
    meta: Vec<(&str, String)>,
) -> Result<(), TrainError> {
    let momentum = velocity
        .iter()
        .map(|(key, v)| {
            let values = v.to_data().try_into_vec_as::<f32>().expect("f32 data");
            RawTensor::f32(
                format!("{MOMENTUM_PREFIX}{key}"),
                vec![values.len()],
                &values,
            )
        })
        .collect();
    write_module(path, model, momentum, meta)
}

/// Writes `model`'s parameters and buffers (tensors `model.<path>`, f32), the tensors `extra` and the
/// metadata `meta` to `path` atomically, the header's keys sorted.
pub(crate) fn write_module<M: Module>(
    path: &Path,
    model: &M,
    extra: Vec<RawTensor>,
    meta: Vec<(&str, String)>,
) -> Result<(), TrainError> {
    let mut collect = Collect::default();
    model.visit(&mut collect);
    let mut tensors: Vec<RawTensor> = collect
        .tensors
        .into_iter()
        .map(|(name, shape, values)| RawTensor::f32(name, shape, &values))
        .collect();
    tensors.extend(extra);
    let mut views = Vec::with_capacity(tensors.len());
    for t in &tensors {
        let view = TensorView::new(t.dtype, t.shape.clone(), &t.bytes)
            .map_err(|e| TrainError::checkpoint(path, format!("tensor `{}`: {e:?}", t.name)))?;
        views.push((t.name.as_str(), view));
    }
    let meta: HashMap<String, String> = meta.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let out = safetensors::serialize(views, &Some(meta))
        .map_err(|e| TrainError::checkpoint(path, format!("cannot serialise: {e:?}")))?;
    write_atomic(path, &sorted_header(out, path)?)?;
    Ok(())
}

/// A checkpoint file read into memory, its metadata parsed.
pub(crate) struct CheckpointFile<'a> {
    pub(crate) path: &'a Path,
    bytes: Vec<u8>,
    meta: HashMap<String, String>,
}

impl<'a> CheckpointFile<'a> {
    pub(crate) fn read(path: &'a Path) -> Result<Self, TrainError> {
        Self::from_bytes(read_safetensors(path)?, path)
    }

    /// The file of `bytes`; `path` names it in errors.
    pub(crate) fn from_bytes(bytes: Vec<u8>, path: &'a Path) -> Result<Self, TrainError> {
        parse_safetensors(&bytes, path)?;
        let (_, header) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| TrainError::checkpoint(path, format!("not a safetensors file: {e:?}")))?;
        let meta = header.metadata().clone().unwrap_or_default();
        Ok(CheckpointFile { path, bytes, meta })
    }

    pub(crate) fn tensors(&self) -> SafeTensors<'_> {
        SafeTensors::deserialize(&self.bytes).expect("parsed when read")
    }

    /// The metadata entry `key`.
    pub(crate) fn get(&self, key: &str) -> Result<&str, TrainError> {
        self.meta.get(key).map(String::as_str).ok_or_else(|| {
            TrainError::checkpoint(
                self.path,
                format!("metadata has no `{key}` (not an mllt checkpoint?)"),
            )
        })
    }

    /// The metadata entry `key`, parsed (a number or a backbone name).
    fn parse<T: std::str::FromStr>(&self, key: &str) -> Result<T, TrainError> {
        self.get(key)?.parse().map_err(|_| {
            TrainError::checkpoint(self.path, format!("metadata `{key}` is malformed"))
        })
    }

    /// The shape of the 2-d tensor `name`.
    pub(crate) fn dims(&self, name: &str) -> Result<Vec<usize>, TrainError> {
        let view = self
            .tensors()
            .tensor(name)
            .map_err(|_| TrainError::checkpoint(self.path, format!("no tensor `{name}`")))?;
        match view.shape() {
            s @ [_, _] => Ok(s.to_vec()),
            s => Err(TrainError::checkpoint(
                self.path,
                format!("tensor `{name}` has shape {s:?}; expected 2-d"),
            )),
        }
    }

    /// `fresh` with every parameter and buffer replaced by the stored one of the same path.
    pub(crate) fn restore<M: Module>(&self, fresh: M) -> Result<M, TrainError> {
        let st = self.tensors();
        let mut restore = Restore {
            st: &st,
            file: self.path,
            path: Vec::new(),
            error: None,
        };
        let model = fresh.map(&mut restore);
        match restore.error {
            Some(e) => Err(e),
            None => Ok(model),
        }
    }

    /// The momentum buffers, on `device` without autodiff (where the optimiser keeps them).
    fn velocity(&self, device: &Device) -> Result<BTreeMap<String, Tensor<1>>, TrainError> {
        let mut velocity = BTreeMap::new();
        for (name, view) in self.tensors().tensors() {
            if let Some(key) = name.strip_prefix(MOMENTUM_PREFIX) {
                let values = view_to_f32(&view, self.path, &name)?;
                let n = values.len();
                velocity.insert(
                    key.to_string(),
                    Tensor::from_data(
                        TensorData::new(values, [n]),
                        &device.clone().without_autodiff(),
                    ),
                );
            }
        }
        Ok(velocity)
    }

    /// The number of classes of the head stored under `prefix` (`model.`): the outputs of its linear
    /// classifier, or the rows of ML-GCN's label vectors or of OLTR's centroids.
    pub(crate) fn stored_classes(&self, prefix: &str) -> Result<usize, TrainError> {
        let linear = format!("{prefix}classifier.weight");
        if self.has(&linear) {
            return Ok(self.dims(&linear)?[1]);
        }
        let rows = [
            format!("{prefix}gcn.vectors"),
            format!("{prefix}meta.centroids"),
        ];
        match rows.iter().find(|name| self.has(name)) {
            Some(name) => Ok(self.dims(name)?[0]),
            None => Err(TrainError::checkpoint(
                self.path,
                format!("no tensor `{linear}`"),
            )),
        }
    }

    /// Whether the file holds the tensor `name`.
    fn has(&self, name: &str) -> bool {
        self.tensors().tensor(name).is_ok()
    }

    /// Checks that the head stored under `prefix` has one output per class name.
    pub(crate) fn check_classes(
        &self,
        class_names: &[String],
        prefix: &str,
    ) -> Result<(), TrainError> {
        let classes = self.stored_classes(prefix)?;
        if classes != class_names.len() {
            return Err(TrainError::checkpoint(
                self.path,
                format!(
                    "the classifier has {classes} outputs but mllt.classes names {}",
                    class_names.len()
                ),
            ));
        }
        Ok(())
    }

    /// A head of `config` shaped like the one stored under `prefix` (ML-GCN's label-vector width, OLTR's
    /// stage), with weights that [`restore`](Self::restore) overwrites.
    pub(crate) fn fresh_head(
        &self,
        prefix: &str,
        config: &HeadConfig,
        in_features: usize,
        classes: usize,
        device: &Device,
    ) -> Result<Head, TrainError> {
        let graph = match config {
            HeadConfig::MlGcn { .. } => {
                let dim = self.dims(&format!("{prefix}gcn.vectors"))?[1];
                Some(LabelGraph::zeros(classes, dim))
            }
            _ => None,
        };
        let rng = &mut ChaCha8Rng::seed_from_u64(0);
        let mut head = Head::new(config, in_features, classes, graph.as_ref(), rng, device);
        if self.has(&format!("{prefix}meta.centroids")) {
            head.enter_stage_two(vec![0.0; classes * head.width()], rng);
        }
        Ok(head)
    }
}

impl Checkpoint {
    /// Writes the checkpoint atomically.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let meta = RunMeta {
            config: self.config.clone(),
            seed: self.seed,
            class_names: self.class_names.clone(),
            epochs_done: self.epochs_done,
            iteration: self.iteration,
            rng: self.rng.clone(),
        };
        write_checkpoint(path, &self.model, &self.velocity, meta.entries())
    }

    /// Reads a checkpoint, rebuilding the head on `device` (an autodiff device to continue training).
    pub fn load(path: &Path, device: &Device) -> Result<Checkpoint, TrainError> {
        let file = CheckpointFile::read(path)?;
        let meta = RunMeta::read(&file)?;
        file.check_classes(&meta.class_names, "model.")?;
        let first = match meta.config.model.neck() {
            Some(_) => "model.neck.fc.weight",
            None => "model.classifier.weight",
        };
        let in_features = file.dims(first)?[0];
        let fresh = file.fresh_head(
            "model.",
            &meta.config.model,
            in_features,
            meta.class_names.len(),
            device,
        )?;
        Ok(Checkpoint {
            model: file.restore(fresh)?,
            velocity: file.velocity(device)?,
            config: meta.config,
            seed: meta.seed,
            class_names: meta.class_names,
            epochs_done: meta.epochs_done,
            iteration: meta.iteration,
            rng: meta.rng,
        })
    }
}

impl ImageCheckpoint {
    /// Writes the checkpoint atomically.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let mut meta = RunMeta {
            config: self.config.clone(),
            seed: self.seed,
            class_names: self.class_names.clone(),
            epochs_done: self.epochs_done,
            iteration: self.iteration,
            rng: self.rng.clone(),
        }
        .entries();
        meta.extend([
            ("mllt.backbone", self.backbone.name().to_string()),
            ("mllt.image_size", self.image_size.to_string()),
            ("mllt.backbone_lr_scale", self.backbone_lr_scale.to_string()),
            ("mllt.weights", self.weights.clone()),
            ("mllt.epoch_iteration", self.epoch_iteration.to_string()),
            ("mllt.epoch_loss_sum", self.epoch_loss_sum.to_string()),
            ("mllt.epoch_seconds", self.epoch_seconds.to_string()),
        ]);
        write_checkpoint(path, &self.network, &self.velocity, meta)
    }

    /// Reads a checkpoint, rebuilding the network on `device` (an autodiff device to continue training).
    pub fn load(path: &Path, device: &Device) -> Result<ImageCheckpoint, TrainError> {
        let file = CheckpointFile::read(path)?;
        let meta = RunMeta::read(&file)?;
        let backbone: BackboneKind = file.parse("mllt.backbone")?;
        file.check_classes(&meta.class_names, "model.head.")?;
        // Random weights, overwritten by the stored tensors.
        let fresh = ImageNetwork::new(
            backbone,
            &BackboneWeights::Random,
            &meta.config.model,
            meta.class_names.len(),
            &mut ChaCha8Rng::seed_from_u64(0),
            device,
        )?;
        Ok(ImageCheckpoint {
            network: file.restore(fresh)?,
            velocity: file.velocity(device)?,
            backbone,
            image_size: file.parse("mllt.image_size")?,
            backbone_lr_scale: file.parse("mllt.backbone_lr_scale")?,
            weights: file.get("mllt.weights")?.to_string(),
            epoch_iteration: file.parse("mllt.epoch_iteration")?,
            epoch_loss_sum: file.parse("mllt.epoch_loss_sum")?,
            epoch_seconds: file.parse("mllt.epoch_seconds")?,
            config: meta.config,
            seed: meta.seed,
            class_names: meta.class_names,
            epochs_done: meta.epochs_done,
            iteration: meta.iteration,
            rng: meta.rng,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn rng_state_round_trips() {
        let mut rng = ChaCha8Rng::seed_from_u64(42);
        rng.set_stream(3);
        for _ in 0..17 {
            rng.random::<u32>();
        }
        let mut back = rng_from_string(&rng_to_string(&rng)).unwrap();
        assert_eq!(back.random::<u64>(), rng.random::<u64>());
        assert!(rng_from_string("zz:1:2").is_none());
    }
}
