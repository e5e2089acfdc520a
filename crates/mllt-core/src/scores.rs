//! Score matrices (N items × C classes) for evaluation, read from a NumPy `.npy` file or a TSV.
//!
//! The reference evaluation (`mllt/core/evaluation/mean_ap.py`, `tools/test.py`) ranks the raw logits of the
//! test set, so a score here is any finite real number (logit or probability); non-finite scores are rejected
//! because scikit-learn's `average_precision_score` rejects them too.
//!
//! # Formats
//!
//! * **`.npy`** (recognised by its magic bytes, not by the extension): format version 1.0, 2.0 or 3.0, a
//!   2-D array of little-endian `f4` or `f8` (`descr` `'<f4'` / `'<f8'`) in C order (`fortran_order: False`).
//!   Rows are items in label-file order, columns are classes in `classes.txt` order. Save with
//!   `np.save(path, np.ascontiguousarray(scores))`.
//! * **TSV**: one row per item, tab-separated. A row has either C fields (the scores, rows in label-file order)
//!   or C + 1 fields (an item id, then the scores; rows are then matched to the label file by id, in any order).
//!   The field count decides, so numeric ids (COCO image ids) work; every row must use the same layout.
//!   The first line is a header, and is skipped, when none of its fields is a number; its content is not
//!   checked (so class names that are numbers cannot be used in a header). Blank lines are ignored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::labels::{LabelSet, read_text};

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

/// The magic string that starts every `.npy` file.
const NPY_MAGIC: &[u8] = b"\x93NUMPY";

impl ScoreFile {
    /// Reads a `.npy` or TSV score file (see the module documentation) with `num_classes` columns.
    pub fn read(path: &Path, num_classes: usize) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        if bytes.starts_with(NPY_MAGIC) {
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
        let header = NpyHeader::parse(bytes).map_err(|m| fmt(format!("npy header: {m}")))?;
        let (rows, cols) = header.shape;
        if cols != num_classes {
            return Err(fmt(format!(
                "npy shape ({rows}, {cols}): {cols} columns, but there are {num_classes} classes"
            )));
        }
        let data = &bytes[header.data_offset..];
        let expected = rows
            .checked_mul(cols)
            .and_then(|n| n.checked_mul(header.dtype.size()))
            .ok_or_else(|| fmt(format!("npy shape ({rows}, {cols}) is too large")))?;
        if data.len() != expected {
            let what = if data.len() < expected {
                "truncated"
            } else {
                "trailing bytes"
            };
            return Err(fmt(format!(
                "npy data {what}: shape ({rows}, {cols}) of {} needs {expected} bytes, found {}",
                header.dtype.descr(),
                data.len()
            )));
        }
        let values: Vec<f64> = match header.dtype {
            NpyDtype::F4 => data
                .chunks_exact(4)
                .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                .collect(),
            NpyDtype::F8 => data
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
                .collect(),
        };
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

/// The element type of a `.npy` score array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NpyDtype {
    F4,
    F8,
}

impl NpyDtype {
    fn size(self) -> usize {
        match self {
            NpyDtype::F4 => 4,
            NpyDtype::F8 => 8,
        }
    }

    fn descr(self) -> &'static str {
        match self {
            NpyDtype::F4 => "<f4",
            NpyDtype::F8 => "<f8",
        }
    }
}

/// The parts of a `.npy` header that matter: element type, 2-D shape, and where the data starts.
#[derive(Debug, PartialEq, Eq)]
struct NpyHeader {
    dtype: NpyDtype,
    shape: (usize, usize),
    data_offset: usize,
}

/// A value of the header's Python dict literal.
#[derive(Debug, PartialEq, Eq)]
enum PyValue {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

impl NpyHeader {
    /// Parses the magic, version, header length and the dict literal
    /// (`{'descr': '<f8', 'fortran_order': False, 'shape': (N, C), }`), per NumPy's `format.py`.
    fn parse(bytes: &[u8]) -> std::result::Result<Self, String> {
        if !bytes.starts_with(NPY_MAGIC) {
            return Err("no \\x93NUMPY magic string: not an npy file".into());
        }
        let version = bytes
            .get(6..8)
            .ok_or_else(|| "truncated before the version bytes".to_string())?;
        let (len_size, utf8) = match version[0] {
            1 => (2, false),
            2 => (4, false),
            3 => (4, true),
            v => return Err(format!("unsupported format version {v}.{}", version[1])),
        };
        let len_bytes = bytes
            .get(8..8 + len_size)
            .ok_or_else(|| "truncated before the header length".to_string())?;
        let header_len = len_bytes
            .iter()
            .rev()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        let data_offset = 8 + len_size + header_len;
        let raw = bytes.get(8 + len_size..data_offset).ok_or_else(|| {
            format!("truncated: the header is {header_len} bytes but the file ends before")
        })?;
        let text = match std::str::from_utf8(raw) {
            Ok(t) if utf8 || t.is_ascii() => t,
            _ => return Err("not ASCII/UTF-8 text".into()),
        };
        let dict = parse_py_dict(text)?;
        let get = |key: &str| {
            dict.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .ok_or_else(|| format!("missing field '{key}'"))
        };
        let dtype = match get("descr")? {
            PyValue::Str(s) if s == "<f4" => NpyDtype::F4,
            PyValue::Str(s) if s == "<f8" => NpyDtype::F8,
            PyValue::Str(s) => {
                return Err(format!(
                    "field 'descr' is '{s}'; expected little-endian float32 '<f4' or float64 '<f8'"
                ));
            }
            v => return Err(format!("field 'descr' is {v:?}, expected a string")),
        };
        match get("fortran_order")? {
            PyValue::Bool(false) => {}
            PyValue::Bool(true) => {
                return Err("field 'fortran_order' is True; save a C-order array \
                            (np.ascontiguousarray)"
                    .into());
            }
            v => {
                return Err(format!(
                    "field 'fortran_order' is {v:?}, expected True or False"
                ));
            }
        }
        let shape = match get("shape")? {
            PyValue::Tuple(dims) if dims.len() == 2 => (dims[0], dims[1]),
            PyValue::Tuple(dims) => {
                return Err(format!(
                    "field 'shape' is {dims:?}: a {}-D array, expected 2-D (items × classes)",
                    dims.len()
                ));
            }
            v => return Err(format!("field 'shape' is {v:?}, expected a tuple")),
        };
        Ok(NpyHeader {
            dtype,
            shape,
            data_offset,
        })
    }
}

/// Parses the Python dict literal of an npy header: string keys; string, boolean or int-tuple values.
fn parse_py_dict(text: &str) -> std::result::Result<Vec<(String, PyValue)>, String> {
    let mut p = PyParser {
        s: text.trim_end().as_bytes(),
        i: 0,
    };
    p.expect(b'{')?;
    let mut out = Vec::new();
    loop {
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.expect(b':')?;
        let value = p.value()?;
        out.push((key, value));
        if !p.eat(b',') {
            p.expect(b'}')?;
            break;
        }
    }
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected text after the dict at byte {}", p.i));
    }
    Ok(out)
}

/// A cursor over the header dict literal.
struct PyParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl PyParser<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    /// Skips whitespace, then consumes `c` if it is next.
    fn eat(&mut self, c: u8) -> bool {
        self.skip_ws();
        let hit = self.s.get(self.i) == Some(&c);
        self.i += usize::from(hit);
        hit
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!(
                "expected '{}' at byte {} of the dict",
                char::from(c),
                self.i
            ))
        }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        self.skip_ws();
        let quote = match self.s.get(self.i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a quoted string at byte {}", self.i)),
        };
        let start = self.i + 1;
        let len = self.s[start..]
            .iter()
            .position(|&b| b == quote)
            .ok_or_else(|| "unterminated string".to_string())?;
        self.i = start + len + 1;
        Ok(String::from_utf8_lossy(&self.s[start..start + len]).into_owned())
    }

    fn value(&mut self) -> std::result::Result<PyValue, String> {
        self.skip_ws();
        let rest = &self.s[self.i..];
        if rest.starts_with(b"True") || rest.starts_with(b"False") {
            let b = rest.starts_with(b"True");
            self.i += if b { 4 } else { 5 };
            return Ok(PyValue::Bool(b));
        }
        if self.eat(b'(') {
            let mut dims = Vec::new();
            loop {
                if self.eat(b')') {
                    break;
                }
                dims.push(self.int()?);
                if !self.eat(b',') {
                    self.expect(b')')?;
                    break;
                }
            }
            return Ok(PyValue::Tuple(dims));
        }
        self.string().map(PyValue::Str)
    }

    /// A non-negative integer (Python 2 headers may add an `L` suffix).
    fn int(&mut self) -> std::result::Result<usize, String> {
        self.skip_ws();
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap_or_default();
        let n = digits
            .parse()
            .map_err(|_| format!("expected a dimension at byte {start}"))?;
        self.i += usize::from(self.s.get(self.i) == Some(&b'L'));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An npy file as NumPy writes it: the header padded with spaces to a multiple of 64 bytes, ending in `\n`.
    fn npy_bytes(version: u8, descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
        let dict = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        let len_size = if version == 1 { 2 } else { 4 };
        let unpadded = 8 + len_size + dict.len() + 1;
        let padded = unpadded.div_ceil(64) * 64;
        let header = format!("{dict}{}\n", " ".repeat(padded - unpadded));
        let mut out = NPY_MAGIC.to_vec();
        out.extend([version, 0]);
        if version == 1 {
            out.extend((header.len() as u16).to_le_bytes());
        } else {
            out.extend((header.len() as u32).to_le_bytes());
        }
        out.extend(header.as_bytes());
        out.extend(data);
        out
    }

    fn f8(values: &[f64]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn labels(ids: &[&str]) -> LabelSet {
        LabelSet::new(
            ids.iter().map(|s| s.to_string()).collect(),
            vec!["a".into(), "b".into()],
            vec![vec![]; ids.len()],
        )
        .unwrap()
    }

    #[test]
    fn reads_npy_f4_and_f8_in_all_versions() {
        let p = Path::new("s.npy");
        for version in [1, 2, 3] {
            let b = npy_bytes(version, "<f8", false, "(2, 2)", &f8(&[1.0, -2.5, 0.0, 3.0]));
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
        assert!(err(npy_bytes(1, "<f8", true, "(2, 2)", &ok)).contains("'fortran_order' is True"));
        assert!(err(npy_bytes(1, ">f8", false, "(2, 2)", &ok)).contains("'descr' is '>f8'"));
        assert!(err(npy_bytes(1, "<i8", false, "(2, 2)", &ok)).contains("'descr' is '<i8'"));
        assert!(err(npy_bytes(1, "<f8", false, "(4,)", &ok)).contains("1-D array"));
        assert!(
            err(npy_bytes(1, "<f8", false, "(1, 4)", &ok)).contains("4 columns, but there are 2")
        );
        assert!(
            err(npy_bytes(
                1,
                "<f8",
                false,
                "(2, 2)",
                &[ok.clone(), ok.clone()].concat()
            ))
            .contains("trailing")
        );
        let nan = f8(&[1.0, 2.0, f64::NAN, 4.0]);
        assert_eq!(
            err(npy_bytes(1, "<f8", false, "(2, 2)", &nan)),
            "s.npy: score at row 1, column 0 (0-based, as in NumPy) is NaN; scores must be finite"
        );
        let full = npy_bytes(1, "<f8", false, "(2, 2)", &ok);
        for cut in [3, 7, 9, 30] {
            assert!(
                err(full[..cut].to_vec()).starts_with("s.npy: npy header: "),
                "{cut}"
            );
        }
        let mut bad_version = full.clone();
        bad_version[6] = 9;
        assert!(err(bad_version).contains("unsupported format version 9.0"));
        let huge = npy_bytes(1, "<f8", false, "(9999999999999999999, 2)", &ok);
        assert!(err(huge).contains("too large"));
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
