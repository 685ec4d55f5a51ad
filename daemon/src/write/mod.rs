//! Writing files safely.
