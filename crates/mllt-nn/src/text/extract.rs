//! Turning a text folder ([`TextDataset`]: classes.txt, train.tsv, test.tsv, texts.tsv) into a feature
//! dataset ([`FeatureDataset`]) with the MiniLM sentence encoder: the same labels, and each item's text as
//! its [`DIM`]-d embedding, rows in TSV order.

use mllt_core::LabelSet;
use mllt_data::textset::TextDataset;

use super::sentence::{DIM, SentenceEncoder};
use crate::backbone::Result;
use crate::features::{FeatureDataset, FeatureSplit};

/// The feature dataset of `dataset`: both splits' texts encoded by `encoder`; `progress` gets the number of
/// texts done after each batch.
pub fn encode_folder(
    dataset: &TextDataset,
    encoder: &SentenceEncoder,
    progress: &mut dyn FnMut(usize),
) -> Result<FeatureDataset> {
    let mut split = |labels: &LabelSet, texts: &[String]| -> Result<FeatureSplit> {
        Ok(FeatureSplit {
            labels: labels.clone(),
            features: encoder.encode_with_progress(texts, progress)?,
            dim: DIM,
        })
    };
    Ok(FeatureDataset {
        train: split(&dataset.train, &dataset.train_texts)?,
        test: split(&dataset.test, &dataset.test_texts)?,
    })
}
