//! Correlation and findings (being written).
pub mod finding;
