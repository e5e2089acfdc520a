//! Experiments of mllt: the reproduction of the paper's Table 1 (Wu et al., *Distribution-Balanced Loss for
//! Multi-Label Classification in Long-Tailed Datasets*, ECCV 2020) as a library, under `mllt reproduce`.
//!
//! * [`preset`]: the method presets (the rows of Tables 1–2, and ASL);
//! * [`protocol`]: run lengths, matched or the paper's schedules, and the cheaper selection runs;
//! * [`tuning`]: the per-method search of the learning-rate scale and key hyper-parameters on ladders;
//! * [`validation`]: the search's training runs on the validation split;
//! * [`selection`]: how often the cheap selection runs choose as full-length ones would;
//! * [`chance`]: the random-score chance level and the marking of methods near it;
//! * [`comparison`]: paired differences with DB-Focal, per seed and by bootstrap over test items;
//! * [`results`]: the final runs' test results per seed and method;
//! * [`report`]: tables, `results.json`, per-class CSV and the Fig. 6 analogue;
//! * [`resources`]: the peak memory of the process;
//! * [`run`]: one training run;
//! * [`experiment`]: [`reproduce`], all of it for a list of datasets;
//! * [`negative_gradients`]: Fig. 3, the gradient to a negative logit under CE, BCE and NTR;
//! * [`sweep`]: Fig. 7 and 10, one hyper-parameter of the DB loss swept.

pub mod chance;
pub mod comparison;
pub mod experiment;
pub mod negative_gradients;
pub mod preset;
pub mod protocol;
pub mod report;
pub mod resources;
pub mod results;
pub mod run;
pub mod selection;
pub mod sweep;
pub mod tuning;
pub mod validation;

pub use experiment::{Options, Reproduced, Summary, reproduce};
pub use preset::Preset;
pub use protocol::{Protocol, RunLengths};
