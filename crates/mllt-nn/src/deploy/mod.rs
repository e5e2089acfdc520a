//! A trained model put to use: the self-contained model file that `mllt train` writes ([`model_file`]) and
//! the labelling of new items with it ([`predict`]).

pub mod model_file;
pub mod predict;

pub use model_file::{Input, MODEL_FILE, ModelMeta, Network, ThresholdMeta, TrainedModel};
pub use predict::{
    Content, Item, ItemSource, PredictOptions, PredictSummary, ScoredBatch, SkippedItem,
    open_items, predict,
};
