//! Label sets: N items × C classes, read from `classes.txt` and a TSV `id<TAB>comma-separated labels`.
//!
//! The TSV starts with a header line. An empty label field is a valid row: an item with no positive class
//! (COCO's test set has such images).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::atomic::write_atomic;
use crate::error::{Error, Result};

/// A multi-label set: item ids, class names (the column order) and the positive classes of every item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSet {
    ids: Vec<String>,
    class_names: Vec<String>,
    /// Sorted, de-duplicated positive class indices of each item.
    rows: Vec<Vec<usize>>,
}

impl LabelSet {
    /// Builds a label set, checking that every index is a class and that ids are unique.
    pub fn new(
        ids: Vec<String>,
        class_names: Vec<String>,
        mut rows: Vec<Vec<usize>>,
    ) -> Result<Self> {
        if ids.len() != rows.len() {
            return Err(Error::Invalid(format!(
                "{} ids but {} label rows",
                ids.len(),
                rows.len()
            )));
        }
        for (k, row) in rows.iter_mut().enumerate() {
            row.sort_unstable();
            row.dedup();
            if let Some(&c) = row.iter().find(|&&c| c >= class_names.len()) {
                return Err(Error::Invalid(format!(
                    "item {}: class index {c} out of range (C = {})",
                    ids[k],
                    class_names.len()
                )));
            }
        }
        Ok(LabelSet {
            ids,
            class_names,
            rows,
        })
    }

    /// Builds a label set from the label *names* of each item; names outside `class_names` are ignored.
    pub fn from_names<'a, R, L>(ids: Vec<String>, class_names: Vec<String>, rows: R) -> Result<Self>
    where
        R: IntoIterator<Item = L>,
        L: IntoIterator<Item = &'a str>,
    {
        let index: HashMap<&str, usize> = class_names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let rows = rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .filter_map(|n| index.get(n).copied())
                    .collect()
            })
            .collect();
        LabelSet::new(ids, class_names, rows)
    }

    /// Parses the TSV text of `path` (used only in messages) against the given class names.
    pub fn parse_tsv(text: &str, path: &Path, class_names: Vec<String>) -> Result<Self> {
        let index: HashMap<&str, usize> = class_names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), i))
            .collect();
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, header)) if header.contains('\t') => {}
            Some(_) => {
                return Err(Error::parse(
                    path,
                    1,
                    "expected a header line `id<TAB>labels`",
                ));
            }
            None => return Err(Error::parse(path, 1, "empty file: expected a header line")),
        }
        let mut ids = Vec::new();
        let mut rows = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, line) in lines {
            let lineno = i + 1;
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let Some((id, labels)) = line.split_once('\t') else {
                return Err(Error::parse(
                    path,
                    lineno,
                    "expected `id<TAB>labels` (no tab found; truncated line?)",
                ));
            };
            if labels.contains('\t') {
                return Err(Error::parse(
                    path,
                    lineno,
                    "expected 2 tab-separated fields, found more",
                ));
            }
            if id.is_empty() {
                return Err(Error::parse(path, lineno, "empty id"));
            }
            if let Some(first) = seen.insert(id.to_string(), lineno) {
                return Err(Error::parse(
                    path,
                    lineno,
                    format!("duplicate id `{id}` (first on line {first})"),
                ));
            }
            let mut row = Vec::new();
            for name in labels.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match index.get(name) {
                    Some(&c) => row.push(c),
                    None => {
                        return Err(Error::parse(
                            path,
                            lineno,
                            format!("unknown class `{name}`"),
                        ));
                    }
                }
            }
            ids.push(id.to_string());
            rows.push(row);
        }
        LabelSet::new(ids, class_names, rows)
    }

    /// Reads a label TSV against the classes of a `classes.txt`.
    pub fn read_tsv(path: &Path, class_names: Vec<String>) -> Result<Self> {
        let text = read_text(path)?;
        LabelSet::parse_tsv(&text, path, class_names)
    }

    /// Writes the label TSV (with header) atomically: a temp file, then a rename.
    pub fn write_tsv(&self, path: &Path) -> Result<()> {
        write_atomic(path, self.to_tsv().as_bytes())
    }

    /// The TSV text of this label set, header included.
    pub fn to_tsv(&self) -> String {
        let mut out = String::from("image_id\tlabels\n");
        for (id, row) in self.ids.iter().zip(&self.rows) {
            let names: Vec<&str> = row.iter().map(|&c| self.class_names[c].as_str()).collect();
            let _ = writeln!(out, "{id}\t{}", names.join(","));
        }
        out
    }

    /// Number of items N.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Number of classes C.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Class names in column order.
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// Item ids in row order.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// The positive classes of every item (sorted).
    pub fn rows(&self) -> &[Vec<usize>] {
        &self.rows
    }

    /// The positive classes of item `k` (sorted).
    pub fn row(&self, k: usize) -> &[usize] {
        &self.rows[k]
    }

    /// Per-class positive counts n_i = Σ_k y_i^k.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut n = vec![0; self.num_classes()];
        for row in &self.rows {
            for &c in row {
                n[c] += 1;
            }
        }
        n
    }

    /// The N × C multi-hot matrix, row-major.
    pub fn dense<T: From<u8> + Copy>(&self) -> Vec<T> {
        let c = self.num_classes();
        let mut out = vec![T::from(0); self.len() * c];
        for (k, row) in self.rows.iter().enumerate() {
            for &j in row {
                out[k * c + j] = T::from(1);
            }
        }
        out
    }

    /// The items at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> LabelSet {
        LabelSet {
            ids: indices.iter().map(|&k| self.ids[k].clone()).collect(),
            class_names: self.class_names.clone(),
            rows: indices.iter().map(|&k| self.rows[k].clone()).collect(),
        }
    }

    /// The classes that a loss dividing by n_c, or by n_c and N − n_c, cannot use: no positive item, or
    /// every item positive; in column order.
    pub fn degenerate_classes(&self) -> Vec<(usize, Degenerate)> {
        self.class_counts()
            .into_iter()
            .enumerate()
            .filter_map(|(c, n)| match n {
                0 => Some((c, Degenerate::NoPositive)),
                n if n == self.len() => Some((c, Degenerate::EveryItem)),
                _ => None,
            })
            .collect()
    }

    /// The label set without the classes `drop` (column indices); the other columns keep their order.
    pub fn without_classes(&self, drop: &[usize]) -> LabelSet {
        let mut new_index = vec![None; self.num_classes()];
        let mut class_names = Vec::with_capacity(self.num_classes());
        for (c, name) in self.class_names.iter().enumerate() {
            if !drop.contains(&c) {
                new_index[c] = Some(class_names.len());
                class_names.push(name.clone());
            }
        }
        LabelSet {
            ids: self.ids.clone(),
            class_names,
            rows: self
                .rows
                .iter()
                .map(|row| row.iter().filter_map(|&c| new_index[c]).collect())
                .collect(),
        }
    }
}

/// Why a class cannot be trained on by every loss ([`LabelSet::degenerate_classes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Degenerate {
    /// No training item has the class.
    NoPositive,
    /// Every training item has the class.
    EveryItem,
}

impl Degenerate {
    /// `no training positive`, `in every training item`.
    pub fn describe(self) -> &'static str {
        match self {
            Degenerate::NoPositive => "no training positive",
            Degenerate::EveryItem => "in every training item",
        }
    }
}

/// Reads `classes.txt`: one class name per line, in column order. Blank trailing lines are ignored.
pub fn parse_classes(text: &str, path: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let lines: Vec<&str> = text.lines().map(|l| l.trim()).collect();
    let last = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |p| p + 1);
    for (i, name) in lines[..last].iter().enumerate() {
        if name.is_empty() {
            return Err(Error::parse(path, i + 1, "empty class name"));
        }
        if name.contains(',') || name.contains('\t') {
            return Err(Error::parse(
                path,
                i + 1,
                format!("class name `{name}` contains a comma or tab"),
            ));
        }
        if let Some(first) = seen.insert(name, i + 1) {
            return Err(Error::parse(
                path,
                i + 1,
                format!("duplicate class `{name}` (first on line {first})"),
            ));
        }
        names.push(name.to_string());
    }
    if names.is_empty() {
        return Err(Error::Format {
            path: path.into(),
            message: "no class names".into(),
        });
    }
    Ok(names)
}

/// Reads a `classes.txt` file.
pub fn read_classes(path: &Path) -> Result<Vec<String>> {
    parse_classes(&read_text(path)?, path)
}

/// Reads a whole UTF-8 file, naming it in the error.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| Error::Format {
        path: path.into(),
        message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Vec<String> {
        vec!["a".into(), "b".into(), "c".into()]
    }

    #[test]
    fn degenerate_classes_and_dropping_them() {
        let l = LabelSet::new(
            vec!["p".into(), "q".into(), "r".into()],
            vec!["a".into(), "b".into(), "c".into(), "d".into()],
            vec![vec![0, 1], vec![1, 3], vec![1]],
        )
        .unwrap();
        // a: 1 of 3, b: 3 of 3 (every item), c: 0 (none), d: 1.
        assert_eq!(
            l.degenerate_classes(),
            vec![(1, Degenerate::EveryItem), (2, Degenerate::NoPositive)]
        );
        let kept = l.without_classes(&[1, 2]);
        assert_eq!(kept.class_names(), ["a", "d"]);
        assert_eq!(kept.rows(), [vec![0], vec![1], vec![]]);
        assert_eq!(kept.ids(), l.ids());
    }

    #[test]
    fn parses_rows_and_empty_label_fields() {
        let ls = LabelSet::parse_tsv(
            "id\tlabels\nx\tb,a\ny\t\nz\tc\n",
            Path::new("t.tsv"),
            classes(),
        )
        .unwrap();
        assert_eq!(ls.len(), 3);
        assert_eq!(ls.row(0), &[0, 1]);
        assert!(ls.row(1).is_empty());
        assert_eq!(ls.class_counts(), vec![1, 1, 1]);
        assert_eq!(ls.dense::<f32>(), vec![1., 1., 0., 0., 0., 0., 0., 0., 1.]);
        let again = LabelSet::parse_tsv(&ls.to_tsv(), Path::new("t.tsv"), classes()).unwrap();
        assert_eq!(again, ls);
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = LabelSet::parse_tsv("id\tlabels\nx\ta\ny\td\n", Path::new("f.tsv"), classes())
            .unwrap_err();
        assert_eq!(err.to_string(), "f.tsv:3: unknown class `d`");
        let err =
            LabelSet::parse_tsv("id\tlabels\nx\ta\ny", Path::new("f.tsv"), classes()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("f.tsv:3: expected `id<TAB>labels`"),
            "{err}"
        );
        let err = LabelSet::parse_tsv("", Path::new("f.tsv"), classes()).unwrap_err();
        assert!(err.to_string().starts_with("f.tsv:1:"), "{err}");
        let err =
            LabelSet::parse_tsv("id\tl\nx\ta\nx\tb\n", Path::new("f.tsv"), classes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.tsv:3: duplicate id `x` (first on line 2)"
        );
    }

    #[test]
    fn from_names_maps_and_ignores_unknown_names() {
        let ls = LabelSet::from_names(
            vec!["x".into(), "y".into()],
            classes(),
            [vec!["c", "a", "zz"], vec![]],
        )
        .unwrap();
        assert_eq!(ls.row(0), &[0, 2]);
        assert!(ls.row(1).is_empty());
    }

    #[test]
    fn classes_file_rules() {
        assert_eq!(
            parse_classes("a\nb\n\n", Path::new("c")).unwrap(),
            vec!["a", "b"]
        );
        assert_eq!(
            parse_classes("a\n\nb\n", Path::new("c"))
                .unwrap_err()
                .to_string(),
            "c:2: empty class name"
        );
        assert!(parse_classes("a\na\n", Path::new("c")).is_err());
        assert!(parse_classes("\n", Path::new("c")).is_err());
    }
}
