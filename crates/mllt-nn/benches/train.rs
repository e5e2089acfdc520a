//! Training benchmarks (placeholder until the trainer lands).
fn main() {}
