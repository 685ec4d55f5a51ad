//! Synthetic Photos libraries for tests and benchmarks.
