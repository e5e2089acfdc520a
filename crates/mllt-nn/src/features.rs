//! Feature datasets (issue 3 item 5): pre-extracted image features with their labels, in one folder:
//!
//! * `classes.txt`: one class name per line, in column order;
//! * `train.tsv`, `test.tsv`: a header line, then `id<TAB>comma-separated labels` per item;
//! * `features.safetensors`: tensors `train` `[N_train, d]` and `test` `[N_test, d]`, f16 or f32, rows in the
//!   order of the TSVs.
//!
//! Every error names the offending file (and tensor or line).

use std::path::Path;

use burn::tensor::f16;
use mllt_core::atomic::write_atomic;
use mllt_core::labels::read_classes;
use mllt_core::{Error, LabelSet, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};

/// File names inside a feature folder.
pub const CLASSES_FILE: &str = "classes.txt";
pub const TRAIN_FILE: &str = "train.tsv";
pub const TEST_FILE: &str = "test.tsv";
pub const FEATURES_FILE: &str = "features.safetensors";

/// One split: its labels and its `[N, d]` row-major f32 features.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSplit {
    pub labels: LabelSet,
    pub features: Vec<f32>,
    pub dim: usize,
}

impl FeatureSplit {
    /// Number of items N.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split has no items.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The feature row of item `k`.
    pub fn row(&self, k: usize) -> &[f32] {
        &self.features[k * self.dim..(k + 1) * self.dim]
    }

    /// The items at `rows`, in that order.
    pub fn subset(&self, rows: &[usize]) -> FeatureSplit {
        FeatureSplit {
            labels: self.labels.subset(rows),
            features: rows
                .iter()
                .flat_map(|&k| self.row(k).iter().copied())
                .collect(),
            dim: self.dim,
        }
    }
}

/// A feature dataset: the training and the test split, over the same classes and feature dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureDataset {
    pub train: FeatureSplit,
    pub test: FeatureSplit,
}

/// Storage type of the feature tensors when writing a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureDtype {
    F32,
    F16,
}

fn format_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.into(),
        message: message.into(),
    }
}

/// Little-endian f32 bytes of `values` (the safetensors payload encoding).
pub(crate) fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Decodes an F32 or F16 safetensors payload into f32 values; `what` names the tensor in errors.
pub(crate) fn view_to_f32(view: &TensorView<'_>, path: &Path, what: &str) -> Result<Vec<f32>> {
    let data = view.data();
    match view.dtype() {
        Dtype::F32 => Ok(data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()),
        Dtype::F16 => Ok(data
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect()),
        other => Err(format_error(
            path,
            format!("tensor `{what}` has dtype {other:?}; expected F16 or F32"),
        )),
    }
}

/// Reads and parses a whole safetensors file, naming it in errors.
pub(crate) fn read_safetensors(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })
}

/// Parses safetensors bytes, naming `path` in the error.
pub fn parse_safetensors<'a>(bytes: &'a [u8], path: &Path) -> Result<SafeTensors<'a>> {
    SafeTensors::deserialize(bytes)
        .map_err(|e| format_error(path, format!("not a safetensors file: {e:?}")))
}

/// `bytes` of a safetensors file with the keys of its JSON header sorted, so that the same tensors and
/// metadata always give the same file (the writers emit the metadata map in hash order, which differs from
/// process to process). The header keeps its length; `path` is named in errors.
pub(crate) fn sorted_header(mut bytes: Vec<u8>, path: &Path) -> Result<Vec<u8>> {
    fn sorted(value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => serde_json::Value::Object(
                map.into_iter()
                    .map(|(k, v)| (k, sorted(v)))
                    .collect::<std::collections::BTreeMap<_, _>>()
                    .into_iter()
                    .collect(),
            ),
            other => other,
        }
    }
    let bad = |message: &str| format_error(path, format!("cannot sort the header: {message}"));
    let len: [u8; 8] = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("too short"))?;
    let end = usize::try_from(u64::from_le_bytes(len))
        .ok()
        .and_then(|n| n.checked_add(8))
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| bad("bad header length"))?;
    let header: serde_json::Value =
        serde_json::from_slice(&bytes[8..end]).map_err(|e| bad(&e.to_string()))?;
    let mut text = serde_json::to_vec(&sorted(header)).expect("JSON values serialise");
    if text.len() > end - 8 {
        return Err(bad("the sorted header is longer"));
    }
    // safetensors pads the header with spaces.
    text.resize(end - 8, b' ');
    bytes[8..end].copy_from_slice(&text);
    Ok(bytes)
}

/// The `[rows, cols]` matrix stored as tensor `name` (F32 or F16), as f32 values, rows and cols; every value
/// must be finite. Errors name `path` and the tensor.
pub fn read_matrix(
    st: &SafeTensors<'_>,
    path: &Path,
    name: &str,
) -> Result<(Vec<f32>, usize, usize)> {
    let view = st.tensor(name).map_err(|_| {
        let mut names: Vec<&String> = st.names();
        names.sort();
        format_error(path, format!("no tensor `{name}` (found: {names:?})"))
    })?;
    let &[rows, cols] = view.shape() else {
        return Err(format_error(
            path,
            format!(
                "tensor `{name}` has shape {:?}; expected [items, feature_dim]",
                view.shape()
            ),
        ));
    };
    let values = view_to_f32(&view, path, name)?;
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        return Err(format_error(
            path,
            format!(
                "tensor `{name}` row {} has a non-finite value",
                k / cols.max(1)
            ),
        ));
    }
    Ok((values, rows, cols))
}

/// The feature matrix of a standalone `.safetensors` file: its tensor `features`, else `test`, else its only
/// tensor; returned as `(rows, cols, values)`.
pub fn read_feature_matrix(path: &Path) -> Result<(usize, usize, Vec<f32>)> {
    let bytes = read_safetensors(path)?;
    let st = parse_safetensors(&bytes, path)?;
    let names = st.names();
    let name = match ["features", "test"]
        .iter()
        .find(|n| names.iter().any(|m| m == *n))
    {
        Some(n) => n.to_string(),
        None if names.len() == 1 => names[0].clone(),
        None => {
            return Err(format_error(
                path,
                format!(
                    "{} tensors and none named `features` or `test`",
                    names.len()
                ),
            ));
        }
    };
    let (values, rows, cols) = read_matrix(&st, path, &name)?;
    Ok((rows, cols, values))
}

impl FeatureDataset {
    /// The dataset without the classes `drop` (column indices), in both splits.
    pub fn without_classes(self, drop: &[usize]) -> FeatureDataset {
        let split = |s: FeatureSplit| FeatureSplit {
            labels: s.labels.without_classes(drop),
            ..s
        };
        FeatureDataset {
            train: split(self.train),
            test: split(self.test),
        }
    }

    /// Reads a feature folder, checking that row counts match the TSVs and that both splits share d.
    pub fn read(dir: &Path) -> Result<FeatureDataset> {
        let classes = read_classes(&dir.join(CLASSES_FILE))?;
        let train_labels = LabelSet::read_tsv(&dir.join(TRAIN_FILE), classes.clone())?;
        let test_labels = LabelSet::read_tsv(&dir.join(TEST_FILE), classes)?;
        let path = dir.join(FEATURES_FILE);
        let bytes = read_safetensors(&path)?;
        let st = parse_safetensors(&bytes, &path)?;
        let mut splits = Vec::with_capacity(2);
        for (name, file, labels) in [
            ("train", TRAIN_FILE, train_labels),
            ("test", TEST_FILE, test_labels),
        ] {
            let (features, rows, dim) = read_matrix(&st, &path, name)?;
            if rows != labels.len() {
                return Err(format_error(
                    &path,
                    format!(
                        "tensor `{name}` has {rows} rows but {file} has {} items",
                        labels.len()
                    ),
                ));
            }
            if dim == 0 {
                return Err(format_error(
                    &path,
                    format!("tensor `{name}` has feature dimension 0"),
                ));
            }
            splits.push(FeatureSplit {
                labels,
                features,
                dim,
            });
        }
        let test = splits.pop().expect("two splits");
        let train = splits.pop().expect("two splits");
        if train.dim != test.dim {
            return Err(format_error(
                &path,
                format!(
                    "tensor `train` has {} columns but `test` has {}",
                    train.dim, test.dim
                ),
            ));
        }
        if train.is_empty() {
            return Err(format_error(&dir.join(TRAIN_FILE), "no training items"));
        }
        Ok(FeatureDataset { train, test })
    }

    /// Writes the folder (created if missing); every file is written atomically.
    pub fn write(&self, dir: &Path, dtype: FeatureDtype) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.into(),
            source,
        })?;
        let mut classes = self.class_names().join("\n");
        classes.push('\n');
        write_atomic(&dir.join(CLASSES_FILE), classes.as_bytes())?;
        self.train.labels.write_tsv(&dir.join(TRAIN_FILE))?;
        self.test.labels.write_tsv(&dir.join(TEST_FILE))?;
        let encode = |values: &[f32]| -> Vec<u8> {
            match dtype {
                FeatureDtype::F32 => f32_bytes(values),
                FeatureDtype::F16 => values
                    .iter()
                    .flat_map(|&v| f16::from_f32(v).to_le_bytes())
                    .collect(),
            }
        };
        let st_dtype = match dtype {
            FeatureDtype::F32 => Dtype::F32,
            FeatureDtype::F16 => Dtype::F16,
        };
        let train = encode(&self.train.features);
        let test = encode(&self.test.features);
        let path = dir.join(FEATURES_FILE);
        fn view<'a>(
            dtype: Dtype,
            bytes: &'a [u8],
            split: &FeatureSplit,
            path: &Path,
        ) -> Result<TensorView<'a>> {
            TensorView::new(dtype, vec![split.len(), split.dim], bytes)
                .map_err(|e| format_error(path, format!("{e:?}")))
        }
        let tensors = [
            ("train", view(st_dtype, &train, &self.train, &path)?),
            ("test", view(st_dtype, &test, &self.test, &path)?),
        ];
        let bytes = safetensors::serialize(tensors, &None)
            .map_err(|e| format_error(&path, format!("{e:?}")))?;
        write_atomic(&path, &bytes)
    }

    /// Class names in column order.
    pub fn class_names(&self) -> &[String] {
        self.train.labels.class_names()
    }

    /// Feature dimension d.
    pub fn dim(&self) -> usize {
        self.train.dim
    }
}

/// Shape of a synthetic long-tailed feature dataset (see [`synthetic`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticSpec {
    pub classes: usize,
    pub train: usize,
    pub test: usize,
    pub dim: usize,
    /// Pareto-like exponent of the training class frequencies: p_c ∝ (c+1)^(−tail).
    pub tail: f64,
    /// Standard deviation of the feature noise (the prototypes are uniform in [−1, 1]).
    pub noise: f32,
    pub seed: u64,
}

/// A deterministic synthetic multi-label feature dataset, for tests, benchmarks and smoke runs.
///
/// Each item has a primary class, plus class 0 (a "person"-like head class) with probability ½ and a second
/// class with probability ¼; classes are drawn long-tailed in training (p_c ∝ (c+1)^(−tail), every class
/// at least once as a primary) and uniformly in test. Its features are the sum of its classes' random
/// prototypes plus noise of standard deviation `noise` (a scaled, centred sum of three uniforms).
pub fn synthetic(spec: &SyntheticSpec) -> FeatureDataset {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let names: Vec<String> = (0..spec.classes).map(|c| format!("class{c:02}")).collect();
    let prototypes: Vec<f32> = (0..spec.classes * spec.dim)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    let weights: Vec<f64> = (0..spec.classes)
        .map(|c| ((c + 1) as f64).powf(-spec.tail))
        .collect();
    let total: f64 = weights.iter().sum();
    let mut make = |n: usize, long_tailed: bool, prefix: &str| -> FeatureSplit {
        let mut ids = Vec::with_capacity(n);
        let mut rows = Vec::with_capacity(n);
        let mut features = Vec::with_capacity(n * spec.dim);
        for k in 0..n {
            let draw = |rng: &mut ChaCha8Rng| {
                if long_tailed {
                    let mut u = rng.random::<f64>() * total;
                    weights
                        .iter()
                        .position(|&w| {
                            u -= w;
                            u < 0.0
                        })
                        .unwrap_or(spec.classes - 1)
                } else {
                    rng.random_range(0..spec.classes)
                }
            };
            let mut row = vec![if k < spec.classes { k } else { draw(&mut rng) }];
            if rng.random::<f64>() < 0.5 {
                row.push(0);
            }
            if rng.random::<f64>() < 0.25 {
                row.push(draw(&mut rng));
            }
            row.sort_unstable();
            row.dedup();
            for j in 0..spec.dim {
                let signal: f32 = row.iter().map(|&c| prototypes[c * spec.dim + j]).sum();
                let noise = (rng.random::<f32>() + rng.random::<f32>() + rng.random::<f32>() - 1.5)
                    * 2.0
                    * spec.noise;
                features.push(signal + noise);
            }
            ids.push(format!("{prefix}{k:06}"));
            rows.push(row);
        }
        let labels = LabelSet::new(ids, names.clone(), rows).expect("synthetic labels are valid");
        FeatureSplit {
            labels,
            features,
            dim: spec.dim,
        }
    };
    let train = make(spec.train, true, "train");
    let test = make(spec.test, false, "test");
    FeatureDataset { train, test }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Metadata maps built afresh list their keys in different orders; the sorted files are equal, valid and
    /// keep every tensor and entry.
    #[test]
    fn sorted_headers_make_equal_files() {
        let path = Path::new("x.safetensors");
        let data = f32_bytes(&[1.0, 2.0, 3.0]);
        let write = || {
            let meta: HashMap<String, String> = (0..8)
                .map(|i| (format!("key{i}"), format!("value {i}")))
                .collect();
            let views = vec![
                ("b", TensorView::new(Dtype::F32, vec![3], &data).unwrap()),
                ("a", TensorView::new(Dtype::F32, vec![1, 3], &data).unwrap()),
            ];
            safetensors::serialize(views, &Some(meta)).unwrap()
        };
        let raw: Vec<Vec<u8>> = (0..8).map(|_| write()).collect();
        assert!(
            raw.iter().any(|r| r != &raw[0]),
            "hash order never differed"
        );
        let sorted: Vec<Vec<u8>> = raw
            .into_iter()
            .map(|r| sorted_header(r, path).unwrap())
            .collect();
        assert!(sorted.iter().all(|s| s == &sorted[0]));
        let bytes = &sorted[0];
        let st = parse_safetensors(bytes, path).unwrap();
        assert_eq!(st.tensor("a").unwrap().shape(), [1, 3]);
        assert_eq!(st.tensor("b").unwrap().data(), data.as_slice());
        let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
        let meta = header.metadata().as_ref().unwrap();
        assert_eq!(meta.len(), 8);
        assert_eq!(meta["key3"], "value 3");
        let text = String::from_utf8_lossy(&bytes[8..]);
        assert!(text.find("key0").unwrap() < text.find("key7").unwrap());
        assert!(sorted_header(b"short".to_vec(), path).is_err());
    }
}
