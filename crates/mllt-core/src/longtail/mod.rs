//! Long-tailed subset construction (paper Sec. 4.1 and appendix A.1; reference
//! `tools/create_longtail_dataset.py`, semantics §2).
//!
//! [`pareto`] gives the reference distribution of class sizes; [`head_to_tail`] ranks the classes by their
//! co-occurrence-driven sample probability and greedily adds and removes images, class by class, to approach it.

pub mod head_to_tail;
pub mod pareto;

pub use head_to_tail::{LongTail, LongTailConfig, build_longtail};
pub use pareto::reference_distribution;
