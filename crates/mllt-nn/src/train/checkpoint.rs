//! Checkpoints (issue 3 item 6): one safetensors file with everything needed to continue a run exactly.
//!
//! * tensors `model.<path>`: every parameter and buffer of the head (`model.neck.fc.weight`, …, the BN
//!   running statistics included), f32 in burn's layout (linear weights are `[d_in, d_out]`);
//! * tensors `momentum.<path>`: the SGD momentum buffers, flattened;
//! * metadata `mllt.config` (the run's TOML), `mllt.seed`, `mllt.epochs_done`, `mllt.iteration` (global
//!   iterations done), `mllt.rng` (the dropout ChaCha stream: seed, stream, word position) and
//!   `mllt.classes` (the class names, JSON).
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
use crate::features::{f32_bytes, parse_safetensors, read_safetensors, view_to_f32};
use crate::model::Head;

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

impl Checkpoint {
    /// Writes the checkpoint atomically.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let mut collect = Collect::default();
        self.model.visit(&mut collect);
        let mut tensors = collect.tensors;
        for (key, v) in &self.velocity {
            let data = v.to_data();
            let values = data.try_into_vec_as::<f32>().expect("f32 data");
            tensors.push((
                format!("{MOMENTUM_PREFIX}{key}"),
                vec![values.len()],
                values,
            ));
        }
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
            .into_iter()
            .map(|(name, shape, values)| (name, shape, f32_bytes(&values)))
            .collect();
        let mut views = Vec::with_capacity(bytes.len());
        for (name, shape, data) in &bytes {
            let view = TensorView::new(Dtype::F32, shape.clone(), data)
                .map_err(|e| TrainError::checkpoint(path, format!("tensor `{name}`: {e:?}")))?;
            views.push((name.as_str(), view));
        }
        let meta: HashMap<String, String> = [
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
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let out = safetensors::serialize(views, &Some(meta))
            .map_err(|e| TrainError::checkpoint(path, format!("cannot serialise: {e:?}")))?;
        write_atomic(path, &out)?;
        Ok(())
    }

    /// Reads a checkpoint, rebuilding the head on `device` (an autodiff device to continue training).
    pub fn load(path: &Path, device: &Device) -> Result<Checkpoint, TrainError> {
        let bytes = read_safetensors(path)?;
        let st = parse_safetensors(&bytes, path)?;
        let (_, header) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| TrainError::checkpoint(path, format!("not a safetensors file: {e:?}")))?;
        let empty = HashMap::new();
        let meta = header.metadata().as_ref().unwrap_or(&empty);
        let get = |key: &str| {
            meta.get(key).ok_or_else(|| {
                TrainError::checkpoint(
                    path,
                    format!("metadata has no `{key}` (not an mllt checkpoint?)"),
                )
            })
        };
        let number = |key: &str| -> Result<u64, TrainError> {
            get(key)?.parse().map_err(|_| {
                TrainError::checkpoint(path, format!("metadata `{key}` is not a number"))
            })
        };
        let config = TrainConfig::from_toml(
            get("mllt.config")?,
            &format!("{}: metadata mllt.config", path.display()),
        )?;
        let class_names: Vec<String> =
            serde_json::from_str(get("mllt.classes")?).map_err(|_| {
                TrainError::checkpoint(path, "metadata `mllt.classes` is not a JSON list of names")
            })?;
        let rng = rng_from_string(get("mllt.rng")?)
            .ok_or_else(|| TrainError::checkpoint(path, "metadata `mllt.rng` is malformed"))?;
        let dims = |name: &str| -> Result<Vec<usize>, TrainError> {
            let view = st
                .tensor(name)
                .map_err(|_| TrainError::checkpoint(path, format!("no tensor `{name}`")))?;
            match view.shape() {
                s @ [_, _] => Ok(s.to_vec()),
                s => Err(TrainError::checkpoint(
                    path,
                    format!("tensor `{name}` has shape {s:?}; expected 2-d"),
                )),
            }
        };
        let classes = dims("model.classifier.weight")?[1];
        if classes != class_names.len() {
            return Err(TrainError::checkpoint(
                path,
                format!(
                    "the classifier has {classes} outputs but mllt.classes names {}",
                    class_names.len()
                ),
            ));
        }
        let in_features = match config.model {
            crate::model::HeadConfig::Pfc { .. } => dims("model.neck.fc.weight")?[0],
            crate::model::HeadConfig::Linear => dims("model.classifier.weight")?[0],
        };
        // The initial draw is overwritten by the stored tensors.
        let fresh = Head::new(
            &config.model,
            in_features,
            classes,
            &mut ChaCha8Rng::seed_from_u64(0),
            device,
        );
        let mut restore = Restore {
            st: &st,
            file: path,
            path: Vec::new(),
            error: None,
        };
        let model = fresh.map(&mut restore);
        if let Some(e) = restore.error {
            return Err(e);
        }
        let mut velocity = BTreeMap::new();
        for (name, view) in st.tensors() {
            if let Some(key) = name.strip_prefix(MOMENTUM_PREFIX) {
                let values = view_to_f32(&view, path, &name)?;
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
        Ok(Checkpoint {
            config,
            seed: number("mllt.seed")?,
            class_names,
            epochs_done: number("mllt.epochs_done")? as usize,
            iteration: number("mllt.iteration")? as usize,
            rng,
            model,
            velocity,
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
