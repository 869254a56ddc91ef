//! Shared SQL written as plain, formatted Rust, compiled once for each backend.
//!
//! `sqlite.rs` and `postgres.rs` each name their store `Backend` and their sqlx
//! database `Db`, then declare this directory as a module with `#[path]`. Each file
//! here implements a store trait for `Backend` with `Db`'s own encoders and decoders,
//! so every query is checked against both backends, and may use the backend's private
//! helpers (`begin_write`, `commit`). What differs between the backends stays in their
//! own files. New shared SQL goes here rather than into the `*_sql_store!` macros.

mod import;
