//! Text datasets: labels and raw texts in one folder, turned into TF-IDF feature matrices at load time.
//!
//! * `classes.txt`: one class name per line, in column order;
//! * `train.tsv`, `test.tsv`: a header line, then `id<TAB>comma-separated labels` per item;
//! * `texts.tsv`: a header line `id<TAB>text`, then one line per item of both splits. In the text, a backslash,
//!   a tab, a newline and a carriage return are written `\\`, `\t`, `\n` and `\r`.
//!
//! [`TextDataset::features`] fits a [`Tfidf`] on the training texts and gives the dense row-major matrices that
//! a feature trainer consumes (the [`TextSplit`] fields mirror `mllt_nn::features::FeatureSplit`). Every error
//! names the file and, where it has one, the line.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use mllt_core::atomic::write_atomic;
use mllt_core::labels::read_classes;
use mllt_core::{Error, LabelSet};

use crate::tfidf::Tfidf;

/// File names inside a text dataset folder.
pub const CLASSES_FILE: &str = "classes.txt";
pub const TRAIN_FILE: &str = "train.tsv";
pub const TEST_FILE: &str = "test.tsv";
pub const TEXTS_FILE: &str = "texts.tsv";

/// A text dataset: training and test labels over the same classes, and the text of every item.
#[derive(Debug, Clone, PartialEq)]
pub struct TextDataset {
    pub train: LabelSet,
    pub test: LabelSet,
    /// The text of each training item, in the order of `train`.
    pub train_texts: Vec<String>,
    /// The text of each test item, in the order of `test`.
    pub test_texts: Vec<String>,
}

/// One split as features: its labels and its `[N, dim]` row-major f32 matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct TextSplit {
    pub labels: LabelSet,
    pub features: Vec<f32>,
    pub dim: usize,
}

/// Both splits as TF-IDF features, with the vectorizer fitted on the training texts.
#[derive(Debug, Clone, PartialEq)]
pub struct TextFeatures {
    pub train: TextSplit,
    pub test: TextSplit,
    pub tfidf: Tfidf,
}

/// Writes `text` on one TSV field: `\` → `\\`, tab → `\t`, newline → `\n`, carriage return → `\r`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// The inverse of [`escape`]; `None` on an unknown escape or a trailing backslash.
pub fn unescape(field: &str) -> Option<String> {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            _ => return None,
        });
    }
    Some(out)
}

fn parse_error(path: &Path, line: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        path: path.into(),
        line,
        message: message.into(),
    }
}

/// Reads a whole UTF-8 file, naming it in errors.
pub(crate) fn read_text(path: &Path) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| Error::Format {
        path: path.into(),
        message: format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })
}

/// Parses the text of a `texts.tsv` (`path` is used only in messages) into `id → text`.
pub fn parse_texts(text: &str, path: &Path) -> Result<HashMap<String, String>, Error> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, header)) if header.contains('\t') => {}
        _ => return Err(parse_error(path, 1, "expected a header line `id<TAB>text`")),
    }
    let mut texts: HashMap<String, String> = HashMap::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for (i, line) in lines {
        let lineno = i + 1;
        if line.is_empty() {
            continue;
        }
        let Some((id, field)) = line.split_once('\t') else {
            return Err(parse_error(
                path,
                lineno,
                "expected `id<TAB>text` (no tab found)",
            ));
        };
        if id.is_empty() || field.contains('\t') {
            return Err(parse_error(
                path,
                lineno,
                "expected a non-empty id and one text field (tabs in texts are written \\t)",
            ));
        }
        let Some(value) = unescape(field) else {
            return Err(parse_error(
                path,
                lineno,
                "bad escape in text (only \\\\, \\t, \\n and \\r are allowed)",
            ));
        };
        if let Some(first) = first_line.insert(id.to_string(), lineno) {
            return Err(parse_error(
                path,
                lineno,
                format!("duplicate id `{id}` (first on line {first})"),
            ));
        }
        texts.insert(id.to_string(), value);
    }
    Ok(texts)
}

impl TextDataset {
    /// Reads a text dataset folder; every labelled item must have a text.
    pub fn read(dir: &Path) -> Result<TextDataset, Error> {
        let classes = read_classes(&dir.join(CLASSES_FILE))?;
        let train = LabelSet::read_tsv(&dir.join(TRAIN_FILE), classes.clone())?;
        let test = LabelSet::read_tsv(&dir.join(TEST_FILE), classes)?;
        let path = dir.join(TEXTS_FILE);
        let mut texts = parse_texts(&read_text(&path)?, &path)?;
        let mut take = |labels: &LabelSet, file: &str| -> Result<Vec<String>, Error> {
            labels
                .ids()
                .iter()
                .map(|id| {
                    texts.remove(id).ok_or_else(|| Error::Format {
                        path: path.clone(),
                        message: format!("no text for item `{id}` of {file}"),
                    })
                })
                .collect()
        };
        let train_texts = take(&train, TRAIN_FILE)?;
        let test_texts = take(&test, TEST_FILE)?;
        if train.is_empty() {
            return Err(Error::Format {
                path: dir.join(TRAIN_FILE),
                message: "no training items".into(),
            });
        }
        Ok(TextDataset {
            train,
            test,
            train_texts,
            test_texts,
        })
    }

    /// Writes `classes.txt`, `train.tsv`, `test.tsv` and `texts.tsv` into `dir` (created if missing), each
    /// atomically.
    pub fn write(&self, dir: &Path) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.into(),
            source,
        })?;
        let classes = self.train.class_names().join("\n") + "\n";
        write_atomic(&dir.join(CLASSES_FILE), classes.as_bytes())?;
        self.train.write_tsv(&dir.join(TRAIN_FILE))?;
        self.test.write_tsv(&dir.join(TEST_FILE))?;
        let mut out = String::from("id\ttext\n");
        let items = self.train.ids().iter().zip(&self.train_texts);
        for (id, text) in items.chain(self.test.ids().iter().zip(&self.test_texts)) {
            let _ = writeln!(out, "{id}\t{}", escape(text));
        }
        write_atomic(&dir.join(TEXTS_FILE), out.as_bytes())
    }

    /// TF-IDF features of both splits with `width` columns, idf fitted on the training texts.
    pub fn features(&self, width: usize) -> TextFeatures {
        let tfidf = Tfidf::fit(&self.train_texts, width);
        let split = |labels: &LabelSet, texts: &[String]| TextSplit {
            labels: labels.clone(),
            features: tfidf.transform(texts),
            dim: width,
        };
        let train = split(&self.train, &self.train_texts);
        let test = split(&self.test, &self.test_texts);
        TextFeatures { train, test, tfidf }
    }
}

/// Reads the text dataset folder `dir` and computes its TF-IDF features with `width` columns
/// (e.g. [`crate::tfidf::DEFAULT_WIDTH`]).
pub fn load_features(dir: &Path, width: usize) -> Result<TextFeatures, Error> {
    Ok(TextDataset::read(dir)?.features(width))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip() {
        let text = "a\tb\nc\\n\r";
        assert_eq!(escape(text), "a\\tb\\nc\\\\n\\r");
        assert_eq!(unescape(&escape(text)).unwrap(), text);
        assert_eq!(unescape("bad \\x"), None);
        assert_eq!(unescape("trailing \\"), None);
    }

    #[test]
    fn folder_round_trip_and_features() {
        let classes: Vec<String> = vec!["x".into(), "y".into()];
        let train = LabelSet::new(
            vec!["p1".into(), "p2".into()],
            classes.clone(),
            vec![vec![0], vec![1]],
        )
        .unwrap();
        let test = LabelSet::new(vec!["p3".into()], classes, vec![vec![0, 1]]).unwrap();
        let ds = TextDataset {
            train,
            test,
            train_texts: vec!["tab\there".into(), "two\nlines".into()],
            test_texts: vec!["back\\slash".into()],
        };
        let dir = tempfile::tempdir().unwrap();
        ds.write(dir.path()).unwrap();
        assert_eq!(TextDataset::read(dir.path()).unwrap(), ds);
        let f = load_features(dir.path(), 64).unwrap();
        assert_eq!(
            (f.train.dim, f.train.features.len(), f.test.features.len()),
            (64, 128, 64)
        );
        assert_eq!(f.test.labels, ds.test);
        let norm: f32 = f.train.features[..64].iter().map(|v| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5);
    }

    #[test]
    fn texts_errors_name_file_and_line() {
        let p = Path::new("texts.tsv");
        let err = parse_texts("id\ttext\na\tx\na\ty\n", p).unwrap_err();
        assert_eq!(
            err.to_string(),
            "texts.tsv:3: duplicate id `a` (first on line 2)"
        );
        let err = parse_texts("id\ttext\na\tbad \\q\n", p).unwrap_err();
        assert!(
            err.to_string().starts_with("texts.tsv:2: bad escape"),
            "{err}"
        );
        let err = parse_texts("no header\n", p).unwrap_err();
        assert!(err.to_string().starts_with("texts.tsv:1:"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CLASSES_FILE), "x\n").unwrap();
        std::fs::write(dir.path().join(TRAIN_FILE), "id\tlabels\np1\tx\n").unwrap();
        std::fs::write(dir.path().join(TEST_FILE), "id\tlabels\n").unwrap();
        std::fs::write(dir.path().join(TEXTS_FILE), "id\ttext\np2\tz\n").unwrap();
        let err = TextDataset::read(dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("no text for item `p1` of train.tsv"),
            "{err}"
        );
    }
}
