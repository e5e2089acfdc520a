//! Score matrices (N items × C classes) for evaluation, read from a NumPy `.npy` file or a TSV.
//!
//! The reference evaluation (`mllt/core/evaluation/mean_ap.py`, `tools/test.py`) ranks the raw logits of the
//! test set, so a score here is any finite real number (logit or probability); non-finite scores are rejected
//! because scikit-learn's `average_precision_score` rejects them too.
//!
//! # Formats
//!
//! * **`.npy`** (recognised by its magic bytes, not by the extension): a 2-D `float32` or `float64` array in C
//!   or Fortran order, as [`crate::npy`] reads it. Rows are items in label-file order, columns are classes in
//!   `classes.txt` order. Save with `np.save(path, scores)`.
//! * **TSV**: one row per item, tab-separated. A row has either C fields (the scores, rows in label-file order)
//!   or C + 1 fields (an item id, then the scores; rows are then matched to the label file by id, in any order).
//!   The field count decides, so numeric ids (COCO image ids) work; every row must use the same layout.
//!   The first line is a header, and is skipped, when none of its fields is a number; its content is not
//!   checked (so class names that are numbers cannot be used in a header). Blank lines are ignored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::labels::{LabelSet, read_text};
use crate::npy;

/// A dense N × C matrix of finite scores, row-major (one row per item).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreMatrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl ScoreMatrix {
    /// Builds a matrix from row-major data, checking the length and that every score is finite.
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Result<Self> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(Error::Invalid(format!(
                "score matrix {rows} × {cols} needs {} values, got {}",
                rows.saturating_mul(cols),
                data.len()
            )));
        }
        let m = ScoreMatrix { rows, cols, data };
        match m.first_non_finite() {
            Some((r, c, v)) => Err(Error::Invalid(format!(
                "score at row {r}, column {c} (0-based) is {v}; scores must be finite"
            ))),
            None => Ok(m),
        }
    }

    /// Number of rows (items) N.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (classes) C.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The score of item `r` for class `c`.
    pub fn get(&self, r: usize, c: usize) -> f64 {
        self.data[r * self.cols + c]
    }

    /// The row-major data.
    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// The first non-finite score as (row, column, value), 0-based.
    fn first_non_finite(&self) -> Option<(usize, usize, f64)> {
        let k = self.data.iter().position(|v| !v.is_finite())?;
        Some((k / self.cols, k % self.cols, self.data[k]))
    }

    /// The rows at `order`, in that order.
    fn select_rows(&self, order: &[usize]) -> ScoreMatrix {
        let mut data = Vec::with_capacity(order.len() * self.cols);
        for &r in order {
            data.extend_from_slice(&self.data[r * self.cols..(r + 1) * self.cols]);
        }
        ScoreMatrix {
            rows: order.len(),
            cols: self.cols,
            data,
        }
    }
}

/// An item id of a TSV score row and the line it is on.
#[derive(Debug, Clone)]
struct RowId {
    id: String,
    line: usize,
}

/// A score file as read: its path, the matrix and, for a TSV with an id column, the id of every row.
#[derive(Debug, Clone)]
pub struct ScoreFile {
    path: PathBuf,
    matrix: ScoreMatrix,
    ids: Option<Vec<RowId>>,
}

impl ScoreFile {
    /// Reads a `.npy` or TSV score file (see the module documentation) with `num_classes` columns.
    pub fn read(path: &Path, num_classes: usize) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        if bytes.starts_with(npy::MAGIC) {
            ScoreFile::parse_npy(&bytes, path, num_classes)
        } else {
            ScoreFile::parse_tsv(&read_text(path)?, path, num_classes)
        }
    }

    /// Parses the bytes of a `.npy` file; `path` is only used in messages.
    pub fn parse_npy(bytes: &[u8], path: &Path, num_classes: usize) -> Result<Self> {
        let fmt = |message: String| Error::Format {
            path: path.into(),
            message,
        };
        let npy::NpyMatrix { rows, cols, values } = npy::read_matrix(bytes, path)?;
        if cols != num_classes {
            return Err(fmt(format!(
                "npy shape ({rows}, {cols}): {cols} columns, but there are {num_classes} classes"
            )));
        }
        let matrix = ScoreMatrix {
            rows,
            cols,
            data: values,
        };
        if let Some((r, c, v)) = matrix.first_non_finite() {
            return Err(fmt(format!(
                "score at row {r}, column {c} (0-based, as in NumPy) is {v}; scores must be finite"
            )));
        }
        Ok(ScoreFile {
            path: path.into(),
            matrix,
            ids: None,
        })
    }

    /// Parses the text of a score TSV; `path` is only used in messages.
    pub fn parse_tsv(text: &str, path: &Path, num_classes: usize) -> Result<Self> {
        let mut data = Vec::new();
        let mut ids: Vec<RowId> = Vec::new();
        // Whether rows carry an id, and the line that decided it.
        let mut layout: Option<(bool, usize)> = None;
        let mut rows = 0;
        let mut first_line = true;
        for (i, line) in text.lines().enumerate() {
            let lineno = i + 1;
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let is_first = std::mem::replace(&mut first_line, false);
            if is_first && fields.iter().all(|f| f.trim().parse::<f64>().is_err()) {
                continue; // the header
            }
            let has_id = if fields.len() == num_classes + 1 {
                true
            } else if fields.len() == num_classes {
                false
            } else {
                return Err(Error::parse(
                    path,
                    lineno,
                    format!(
                        "expected {num_classes} scores or an id and {num_classes} scores, \
                         found {} tab-separated fields",
                        fields.len()
                    ),
                ));
            };
            let score_fields = &fields[usize::from(has_id)..];
            match layout {
                None => layout = Some((has_id, lineno)),
                Some((want, first)) if want != has_id => {
                    return Err(Error::parse(
                        path,
                        lineno,
                        format!(
                            "{} fields, but line {first} has {} (all rows need the same layout)",
                            fields.len(),
                            num_classes + usize::from(want)
                        ),
                    ));
                }
                Some(_) => {}
            }
            for (j, field) in score_fields.iter().enumerate() {
                let column = j + 1 + usize::from(has_id);
                let v: f64 = field.trim().parse().map_err(|_| {
                    Error::parse(
                        path,
                        lineno,
                        format!("column {column}: `{field}` is not a number"),
                    )
                })?;
                if !v.is_finite() {
                    return Err(Error::parse(
                        path,
                        lineno,
                        format!("column {column}: score is {v}; scores must be finite"),
                    ));
                }
                data.push(v);
            }
            if has_id {
                ids.push(RowId {
                    id: fields[0].to_string(),
                    line: lineno,
                });
            }
            rows += 1;
        }
        if rows == 0 {
            return Err(Error::Format {
                path: path.into(),
                message: "no score rows".into(),
            });
        }
        Ok(ScoreFile {
            path: path.into(),
            matrix: ScoreMatrix {
                rows,
                cols: num_classes,
                data,
            },
            ids: layout.and_then(|(has_id, _)| has_id.then_some(ids)),
        })
    }

    /// The scores in file order.
    pub fn matrix(&self) -> &ScoreMatrix {
        &self.matrix
    }

    /// The scores with rows in the order of `labels` (read from `labels_path`, named in messages).
    ///
    /// Without ids the file order must be the label order and the row counts must agree. With ids every
    /// label item needs exactly one score row and every score row must name a label item.
    pub fn align(self, labels: &LabelSet, labels_path: &Path) -> Result<ScoreMatrix> {
        let (scores, labels_file) = (self.path.display(), labels_path.display());
        let Some(ids) = &self.ids else {
            if self.matrix.rows != labels.len() {
                return Err(Error::Invalid(format!(
                    "{scores} has {} score rows, but {labels_file} has {} label rows",
                    self.matrix.rows,
                    labels.len()
                )));
            }
            return Ok(self.matrix);
        };
        let mut by_id: HashMap<&str, (usize, usize)> = HashMap::with_capacity(ids.len());
        for (r, row) in ids.iter().enumerate() {
            if let Some((_, first)) = by_id.insert(&row.id, (r, row.line)) {
                return Err(Error::parse(
                    &self.path,
                    row.line,
                    format!("duplicate id `{}` (first on line {first})", row.id),
                ));
            }
        }
        let mut order = Vec::with_capacity(labels.len());
        for id in labels.ids() {
            match by_id.remove(id.as_str()) {
                Some((r, _)) => order.push(r),
                None => {
                    return Err(Error::Invalid(format!(
                        "{scores}: no score row for item `{id}` of {labels_file} \
                         ({} score rows, {} label rows)",
                        ids.len(),
                        labels.len()
                    )));
                }
            }
        }
        if let Some(extra) = by_id
            .values()
            .map(|&(r, _)| &ids[r])
            .min_by_key(|row| row.line)
        {
            return Err(Error::parse(
                &self.path,
                extra.line,
                format!("id `{}` is not an item of {labels_file}", extra.id),
            ));
        }
        Ok(self.matrix.select_rows(&order))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::npy::tests::{f8, npy_bytes};

    fn labels(ids: &[&str]) -> LabelSet {
        LabelSet::new(
            ids.iter().map(|s| s.to_string()).collect(),
            vec!["a".into(), "b".into()],
            vec![vec![]; ids.len()],
        )
        .unwrap()
    }

    #[test]
    fn reads_npy_of_either_order() {
        let p = Path::new("s.npy");
        let c_order = npy_bytes(1, "<f8", false, "(2, 2)", &f8(&[1.0, -2.5, 0.0, 3.0]));
        let fortran = npy_bytes(3, "<f8", true, "(2, 2)", &f8(&[1.0, 0.0, -2.5, 3.0]));
        for b in [c_order, fortran] {
            let s = ScoreFile::parse_npy(&b, p, 2).unwrap();
            assert_eq!(s.matrix().as_slice(), &[1.0, -2.5, 0.0, 3.0]);
        }
        let data: Vec<u8> = [0.5f32, 1.5, -1.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let s = ScoreFile::parse_npy(&npy_bytes(1, "<f4", false, "(3, 1)", &data), p, 1).unwrap();
        assert_eq!((s.matrix().rows(), s.matrix().cols()), (3, 1));
        assert_eq!(s.matrix().get(1, 0), 1.5);
    }

    #[test]
    fn npy_errors_name_the_file_and_the_field() {
        let p = Path::new("s.npy");
        let err = |b: Vec<u8>| ScoreFile::parse_npy(&b, p, 2).unwrap_err().to_string();
        let ok = f8(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(
            err(npy_bytes(1, "<f8", false, "(2, 2)", &ok[..20])),
            "s.npy: npy data truncated: shape (2, 2) of <f8 needs 32 bytes, found 20"
        );
        assert_eq!(
            err(npy_bytes(1, "<f8", false, "(1, 4)", &ok)),
            "s.npy: npy shape (1, 4): 4 columns, but there are 2 classes"
        );
        let nan = f8(&[1.0, 2.0, f64::NAN, 4.0]);
        assert_eq!(
            err(npy_bytes(1, "<f8", false, "(2, 2)", &nan)),
            "s.npy: score at row 1, column 0 (0-based, as in NumPy) is NaN; scores must be finite"
        );
    }

    #[test]
    fn tsv_layouts_and_headers() {
        let p = Path::new("s.tsv");
        let plain = ScoreFile::parse_tsv("a\tb\n1\t2\n-3.5\t4e-1\n\n", p, 2).unwrap();
        assert_eq!(plain.matrix().as_slice(), &[1.0, 2.0, -3.5, 0.4]);
        assert!(plain.ids.is_none());
        let headerless = ScoreFile::parse_tsv("1\t2\r\n3\t4\r\n", p, 2).unwrap();
        assert_eq!(headerless.matrix().rows(), 2);
        // Numeric ids are ids because of the field count.
        let with_ids = ScoreFile::parse_tsv("id\ta\tb\n7\t1\t2\nx\t3\t4\n", p, 2).unwrap();
        let aligned = with_ids
            .align(&labels(&["x", "7"]), Path::new("l.tsv"))
            .unwrap();
        assert_eq!(aligned.as_slice(), &[3.0, 4.0, 1.0, 2.0]);
    }

    #[test]
    fn tsv_errors_name_file_line_and_column() {
        let p = Path::new("s.tsv");
        let err = |t: &str| ScoreFile::parse_tsv(t, p, 2).unwrap_err().to_string();
        assert_eq!(
            err("a\tb\n1\t2\n1\tNaN\n"),
            "s.tsv:3: column 2: score is NaN; scores must be finite"
        );
        assert_eq!(
            err("x\t1\tinf\n"),
            "s.tsv:1: column 3: score is inf; scores must be finite"
        );
        assert_eq!(
            err("1\t2\n1\tz\n"),
            "s.tsv:2: column 2: `z` is not a number"
        );
        assert!(
            err("1\t2\n1\t2\t3\t4\n")
                .starts_with("s.tsv:2: expected 2 scores or an id and 2 scores, found 4")
        );
        assert!(err("1\t2\nx\t1\t2\n").starts_with("s.tsv:2: 3 fields, but line 1 has 2"));
        assert_eq!(err("a\tb\n"), "s.tsv: no score rows");
    }

    #[test]
    fn alignment_errors_name_both_files() {
        let p = Path::new("s.tsv");
        let l = Path::new("l.tsv");
        let plain = ScoreFile::parse_tsv("1\t2\n", p, 2).unwrap();
        assert_eq!(
            plain
                .align(&labels(&["x", "y"]), l)
                .unwrap_err()
                .to_string(),
            "s.tsv has 1 score rows, but l.tsv has 2 label rows"
        );
        let ids = |t: &str| ScoreFile::parse_tsv(t, p, 2).unwrap();
        let err = ids("x\t1\t2\n").align(&labels(&["x", "y"]), l).unwrap_err();
        assert_eq!(
            err.to_string(),
            "s.tsv: no score row for item `y` of l.tsv (1 score rows, 2 label rows)"
        );
        let err = ids("x\t1\t2\nz\t1\t2\n")
            .align(&labels(&["x"]), l)
            .unwrap_err();
        assert_eq!(err.to_string(), "s.tsv:2: id `z` is not an item of l.tsv");
        let err = ids("x\t1\t2\nx\t1\t2\n")
            .align(&labels(&["x"]), l)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "s.tsv:2: duplicate id `x` (first on line 1)"
        );
    }

    #[test]
    fn matrix_rejects_bad_shapes_and_non_finite_values() {
        assert!(ScoreMatrix::new(2, 2, vec![0.0; 3]).is_err());
        let err = ScoreMatrix::new(1, 2, vec![0.0, f64::NEG_INFINITY]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "score at row 0, column 1 (0-based) is -inf; scores must be finite"
        );
        assert!(ScoreMatrix::new(usize::MAX, 2, vec![]).is_err());
    }
}
