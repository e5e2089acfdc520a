//! Dataset builders and importers of mllt: real long-tailed multi-label benchmarks built from package-registry
//! sources with the paper's own construction (appendix A.1).

pub mod augment;
pub mod coco;
pub mod deb822;
pub mod debtags;
pub mod images;
pub mod items;
pub mod loader;
pub mod openclipart;
pub mod textset;
pub mod tfidf;
pub mod voc;
