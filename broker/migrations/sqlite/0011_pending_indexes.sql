-- Work-in-progress candidates (`pending_heads` in store/shared/batch.rs) are found from
-- the provider's pending contents to their publications' branch and tag heads. These
-- indexes hold every column those steps read (SQLite adds the row id), so each step
-- reads the index alone and never the table rows.
CREATE INDEX verifications_content_outcome ON verifications (pact_version_id, success, wip, provider_version_id, created_at);
DROP INDEX verifications_pact_version;
CREATE INDEX pact_publications_content_version ON pact_publications (pact_version_id, consumer_version_id, created_at);
DROP INDEX pact_publications_pact_version;
CREATE INDEX branch_versions_version_branch ON branch_versions (version_id, branch_id);
DROP INDEX branch_versions_version;
CREATE INDEX tags_version_pacticipant ON tags (version_id, pacticipant_id, name);
