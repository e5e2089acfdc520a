//! Hashed TF-IDF features of short texts: word unigrams and bigrams, sublinear tf, smooth idf fitted on the
//! training texts, L2-normalised rows.
//!
//! * Tokens: the text is lowercased and cut at every character that is not alphanumeric (Unicode); tokens of
//!   fewer than 2 characters are dropped (scikit-learn's default token pattern `\b\w\w+\b`, without `_`).
//! * N-grams: every token, and every pair of adjacent tokens written `first second` (one space).
//! * Hashing: n-gram `g` counts in column `fnv1a64(g) mod width` (FNV-1a 64 of its UTF-8 bytes, unsigned: no
//!   alternate sign), like scikit-learn's `HashingVectorizer(alternate_sign=False)`. Collisions add up.
//! * tf: `1 + ln(count)` of a column's count in the text (0 when absent), as `sublinear_tf=True`.
//! * idf of a column, from the n training texts: `ln((1 + n) / (1 + df)) + 1`, where df is the number of
//!   training texts with a nonzero count in the column (scikit-learn's `smooth_idf=True`). Columns unseen in
//!   training get the largest idf, `ln(1 + n) + 1`.
//! * Each row `tf · idf` is divided by its L2 norm (rows without any token stay zero).

use mllt_core::fnv::fnv1a64;

/// The default feature width, 2^14 columns.
pub const DEFAULT_WIDTH: usize = 1 << 14;

/// The lowercase alphanumeric tokens of `text` with at least 2 characters, in order.
pub fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| t.chars().nth(1).is_some())
        .map(str::to_lowercase)
        .collect()
}

/// The hashed columns of the unigrams and bigrams of `text` with their counts, sorted by column.
fn column_counts(text: &str, width: usize) -> Vec<(usize, u32)> {
    let words = tokens(text);
    let column = |gram: &str| (fnv1a64(gram.as_bytes()) % width as u64) as usize;
    let mut columns: Vec<usize> = words.iter().map(|w| column(w)).collect();
    columns.extend(
        words
            .windows(2)
            .map(|pair| column(&format!("{} {}", pair[0], pair[1]))),
    );
    columns.sort_unstable();
    let mut counts: Vec<(usize, u32)> = Vec::new();
    for c in columns {
        match counts.last_mut() {
            Some((last, n)) if *last == c => *n += 1,
            _ => counts.push((c, 1)),
        }
    }
    counts
}

/// A fitted TF-IDF vectorizer: the width and the idf of every column.
#[derive(Debug, Clone, PartialEq)]
pub struct Tfidf {
    idf: Vec<f64>,
}

impl Tfidf {
    /// Fits the idf on the training texts. `width` must be positive.
    pub fn fit<S: AsRef<str>>(train_texts: &[S], width: usize) -> Tfidf {
        assert!(width > 0, "TF-IDF width must be positive");
        let mut df = vec![0usize; width];
        for text in train_texts {
            for (c, _) in column_counts(text.as_ref(), width) {
                df[c] += 1;
            }
        }
        let n = train_texts.len() as f64;
        let idf = df
            .iter()
            .map(|&d| ((1.0 + n) / (1.0 + d as f64)).ln() + 1.0)
            .collect();
        Tfidf { idf }
    }

    /// A vectorizer with the idf of a fitted one ([`Tfidf::idf`]); `None` when `idf` is empty or holds a value
    /// that no fit gives (below 1 or not finite).
    pub fn from_idf(idf: Vec<f64>) -> Option<Tfidf> {
        let valid = !idf.is_empty() && idf.iter().all(|v| v.is_finite() && *v >= 1.0);
        valid.then_some(Tfidf { idf })
    }

    /// Number of columns.
    pub fn width(&self) -> usize {
        self.idf.len()
    }

    /// The idf of every column.
    pub fn idf(&self) -> &[f64] {
        &self.idf
    }

    /// Writes the L2-normalised TF-IDF row of `text` into `row` (length [`Tfidf::width`]), which must be zero.
    fn fill_row(&self, text: &str, row: &mut [f32]) {
        let weights: Vec<(usize, f64)> = column_counts(text, self.width())
            .into_iter()
            .map(|(c, n)| (c, (1.0 + f64::from(n).ln()) * self.idf[c]))
            .collect();
        let norm = weights.iter().map(|(_, w)| w * w).sum::<f64>().sqrt();
        if norm > 0.0 {
            for (c, w) in weights {
                row[c] = (w / norm) as f32;
            }
        }
    }

    /// The `[texts.len(), width]` row-major feature matrix of `texts`.
    pub fn transform<S: AsRef<str>>(&self, texts: &[S]) -> Vec<f32> {
        let width = self.width();
        let mut out = vec![0.0f32; texts.len() * width];
        for (text, row) in texts.iter().zip(out.chunks_exact_mut(width)) {
            self.fill_row(text.as_ref(), row);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_lowercase_alphanumeric_runs_of_two_or_more() {
        assert_eq!(
            tokens("A GTK+ front-end, for X11 & Übersetzung_2 v2!"),
            ["gtk", "front", "end", "for", "x11", "übersetzung", "v2"]
        );
        assert!(tokens(" . - a").is_empty());
    }

    #[test]
    fn from_idf_rebuilds_a_fit_and_refuses_what_no_fit_gives() {
        let fit = Tfidf::fit(&["red fox", "red dog"], 64);
        let back = Tfidf::from_idf(fit.idf().to_vec()).unwrap();
        assert_eq!(
            back.transform(&["a red fox"]),
            fit.transform(&["a red fox"])
        );
        assert_eq!(Tfidf::from_idf(vec![]), None);
        assert_eq!(Tfidf::from_idf(vec![1.0, 0.5]), None);
        assert_eq!(Tfidf::from_idf(vec![f64::NAN]), None);
    }

    #[test]
    fn hand_computed_two_document_example() {
        // Documents: "Red fox." and "red, red dog". N-grams: {red, fox, "red fox"} and
        // {red ×2, dog, "red red", "red dog"}. n = 2; df(red) = 2 → idf = ln(3/3) + 1 = 1; every other
        // n-gram has df = 1 → idf = ln(3/2) + 1 = 1.4054651.
        // Row 1: (1, 1.4054651, 1.4054651) / sqrt(1 + 2·1.4054651²) = (0.4494364, 0.6316672, 0.6316672).
        // Row 2: red tf = 1 + ln 2 = 1.6931472; (1.6931472, 1.4054651 ×3) / 2.9652561
        //      = (0.5709953, 0.4739776 ×3).
        let width = 1 << 20;
        let docs = ["Red fox.", "red, red dog"];
        let col = |g: &str| (fnv1a64(g.as_bytes()) % width as u64) as usize;
        let grams = ["red", "fox", "red fox", "dog", "red red", "red dog"];
        let mut cols: Vec<usize> = grams.iter().map(|g| col(g)).collect();
        cols.sort_unstable();
        cols.dedup();
        assert_eq!(
            cols.len(),
            grams.len(),
            "the example needs collision-free columns"
        );

        let tfidf = Tfidf::fit(&docs, width);
        assert_eq!(tfidf.width(), width);
        assert!((tfidf.idf()[col("red")] - 1.0).abs() < 1e-12);
        assert!((tfidf.idf()[col("fox")] - 1.405_465_108).abs() < 1e-9);
        assert!((tfidf.idf()[col("unseen")] - (3f64.ln() + 1.0)).abs() < 1e-12);

        let x = tfidf.transform(&docs);
        let expect = [
            (0, "red", 0.449_436_4),
            (0, "fox", 0.631_667_2),
            (0, "red fox", 0.631_667_2),
            (1, "red", 0.570_995_3),
            (1, "dog", 0.473_977_6),
            (1, "red red", 0.473_977_6),
            (1, "red dog", 0.473_977_6),
        ];
        for (row, gram, value) in expect {
            let got = x[row * width + col(gram)];
            assert!(
                (got - value).abs() < 1e-6,
                "row {row} `{gram}`: {got} vs {value}"
            );
        }
        for row in 0..2 {
            let nonzero = x[row * width..(row + 1) * width]
                .iter()
                .filter(|v| **v != 0.0)
                .count();
            assert_eq!(nonzero, [3, 4][row]);
        }
    }

    #[test]
    fn collisions_add_up_and_empty_texts_stay_zero() {
        let tfidf = Tfidf::fit(&["alpha beta"], 1);
        // Width 1: the three n-grams share one column, count 3, tf = 1 + ln 3; the row normalises to 1.
        assert_eq!(
            tfidf.transform(&["alpha beta", "", "?!"]),
            vec![1.0, 0.0, 0.0]
        );
    }
}
