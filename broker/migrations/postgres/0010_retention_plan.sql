-- Retention plans its deletions in a temporary table of its own read transaction
-- (see `store/shared/ops.rs`); the shared scratch table is no longer used.
DROP TABLE retention_candidates;
