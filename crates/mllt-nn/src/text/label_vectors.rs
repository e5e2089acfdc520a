//! Label vectors: one row per class, the input of a head that relates the classes (ML-GCN's word
//! embeddings). Either the MiniLM sentence embeddings of the class names ([`label_embeddings`], what
//! `mllt embed-labels` writes) or a matrix the user supplies ([`read_label_vectors`]).

use std::path::Path;

use burn::tensor::Device;
use mllt_core::{Error, npy};

use super::sentence::{DIM, SentenceEncoder};
use crate::backbone::Result;
use crate::features::{parse_safetensors, read_matrix};
use crate::model::LabelVectors;

/// The tensor names a label-vector `.safetensors` file is searched for, in order; a file with a single
/// tensor may name it anything.
pub const TENSOR_NAMES: [&str; 2] = ["labels", "embeddings"];

/// The phrase a class name stands for: each `_` read as a space (`dining_table` → `dining table`), nothing
/// else changed.
pub fn class_phrase(name: &str) -> String {
    name.replace('_', " ")
}

/// The MiniLM embeddings of the class names' [phrases](class_phrase): `DIM`-wide unit-norm rows, in order,
/// with the pretrained encoder from the cache on `device`.
pub fn label_embeddings(class_names: &[String], device: &Device) -> Result<LabelVectors> {
    let encoder = SentenceEncoder::pretrained(device)?;
    let phrases: Vec<String> = class_names.iter().map(|c| class_phrase(c)).collect();
    Ok(LabelVectors {
        values: encoder.encode(&phrases)?,
        dim: DIM,
    })
}

/// The label vectors in `path`, `num_classes` rows of the same dimension d, in class order:
///
/// * `.npy`: a 2-D float32 or float64 array (float64 rounded to float32);
/// * `.safetensors`: a 2-D F32 or F16 tensor, the one named `labels`, else `embeddings`, else the file's only
///   tensor.
///
/// The row count must equal `num_classes`, d must be positive and every value finite; each error is one
/// line naming the file.
pub fn read_label_vectors(path: &Path, num_classes: usize) -> mllt_core::Result<LabelVectors> {
    let format_error = |message: String| Error::Format {
        path: path.into(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (values, rows, dim) = match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => {
            let matrix = npy::read_matrix::<f32>(&bytes, path)?;
            (matrix.values, matrix.rows, matrix.cols)
        }
        Some("safetensors") => {
            let st = parse_safetensors(&bytes, path)?;
            let names = st.names();
            let name = match TENSOR_NAMES.iter().find(|n| names.iter().any(|m| m == *n)) {
                Some(name) => name.to_string(),
                None if names.len() == 1 => names[0].clone(),
                None => {
                    return Err(format_error(format!(
                        "{} tensors and none named `labels` or `embeddings`",
                        names.len()
                    )));
                }
            };
            read_matrix(&st, path, &name)?
        }
        _ => {
            return Err(format_error(
                "label vectors must be a .npy or .safetensors file".into(),
            ));
        }
    };
    if rows != num_classes {
        return Err(format_error(format!(
            "{rows} label vectors, but the dataset has {num_classes} classes"
        )));
    }
    if dim == 0 {
        return Err(format_error("label vectors of dimension 0".into()));
    }
    if let Some(k) = values.iter().position(|v| !v.is_finite()) {
        return Err(format_error(format!(
            "label vector {} has a non-finite value",
            k / dim
        )));
    }
    Ok(LabelVectors { values, dim })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mllt_core::npy_writer::NpyRowWriter;
    use safetensors::tensor::{Dtype, TensorView};

    use crate::features::f32_bytes;

    /// A `.npy` file of `rows` rows of `cols` values `k + 0.5`, written by the crate's writer.
    fn npy(path: &Path, rows: usize, cols: usize) -> Vec<f32> {
        let values: Vec<f32> = (0..rows * cols).map(|k| k as f32 + 0.5).collect();
        let mut writer = NpyRowWriter::create(path, cols).unwrap();
        writer.write_rows(&values).unwrap();
        writer.finish().unwrap();
        values
    }

    /// A `.safetensors` file of F32 tensors (name, shape, values).
    fn safetensors(path: &Path, tensors: &[(&str, Vec<usize>, Vec<f32>)]) {
        let bytes: Vec<Vec<u8>> = tensors.iter().map(|(_, _, v)| f32_bytes(v)).collect();
        let views: Vec<(&str, TensorView<'_>)> = tensors
            .iter()
            .zip(&bytes)
            .map(|((name, shape, _), b)| {
                (
                    *name,
                    TensorView::new(Dtype::F32, shape.clone(), b).unwrap(),
                )
            })
            .collect();
        std::fs::write(path, safetensors::serialize(views, &None).unwrap()).unwrap();
    }

    fn error(path: &Path, num_classes: usize) -> String {
        let message = read_label_vectors(path, num_classes)
            .unwrap_err()
            .to_string();
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(
            message.starts_with(&path.display().to_string()),
            "{message}"
        );
        message
    }

    #[test]
    fn npy_rows_are_read_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.npy");
        let values = npy(&path, 3, 4);
        assert_eq!(
            read_label_vectors(&path, 3).unwrap(),
            LabelVectors { values, dim: 4 }
        );
    }

    #[test]
    fn a_wrong_row_count_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.npy");
        npy(&path, 3, 4);
        assert!(
            error(&path, 5).ends_with("3 label vectors, but the dataset has 5 classes"),
            "{}",
            error(&path, 5)
        );
    }

    /// A file `name` in `dir` holding `bytes`.
    fn file(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// A float32 vector of 3 values, with NumPy's header.
    #[test]
    fn a_1d_array_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
        let header = format!("{dict:<117}\n");
        let mut bytes = npy::MAGIC.to_vec();
        bytes.extend([1, 0]);
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes.extend(f32_bytes(&[1.0, 2.0, 3.0]));
        let path = file(dir.path(), "labels.npy", &bytes);
        assert!(error(&path, 3).contains("1-D array, expected 2-D"));
    }

    #[test]
    fn bad_files_are_refused_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.npy");
        error(&missing, 2);
        error(&file(dir.path(), "garbage.npy", b"not numpy"), 2);
        error(
            &file(dir.path(), "garbage.safetensors", b"not safetensors"),
            2,
        );
        let text = file(dir.path(), "labels.txt", b"1 2\n3 4\n");
        assert!(error(&text, 2).ends_with("must be a .npy or .safetensors file"));
        let nan = dir.path().join("nan.npy");
        let mut writer = NpyRowWriter::create(&nan, 2).unwrap();
        writer.write_rows(&[1.0, 2.0, f32::NAN, 0.0]).unwrap();
        writer.finish().unwrap();
        assert!(error(&nan, 2).ends_with("label vector 1 has a non-finite value"));
    }

    /// `labels` is preferred to `embeddings`, `embeddings` to any other name; one tensor of any name is read;
    /// several tensors none of which has those names are refused.
    #[test]
    fn safetensors_tensor_is_chosen_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.safetensors");
        let a = vec![1.0, 2.0, 3.0, 4.0];
        let b = vec![5.0, 6.0, 7.0, 8.0];
        let both = |first: &str, second: &str| {
            safetensors(
                &path,
                &[
                    (first, vec![2, 2], a.clone()),
                    (second, vec![2, 2], b.clone()),
                ],
            );
            read_label_vectors(&path, 2)
        };
        assert_eq!(
            both("embeddings", "labels").unwrap(),
            LabelVectors {
                values: b.clone(),
                dim: 2
            }
        );
        assert_eq!(
            both("other", "embeddings").unwrap(),
            LabelVectors {
                values: b.clone(),
                dim: 2
            }
        );
        assert!(
            both("x", "y")
                .unwrap_err()
                .to_string()
                .contains("none named")
        );
        safetensors(&path, &[("word2vec", vec![1, 4], a.clone())]);
        assert_eq!(
            read_label_vectors(&path, 1).unwrap(),
            LabelVectors { values: a, dim: 4 }
        );
    }
}
