-- Work-in-progress candidates (`pending_heads` in store/shared/batch.rs) are found from
-- the provider's pending contents to their publications' branch and tag heads. These
-- indexes hold every column those steps read, so each step reads the index alone and
-- never the table rows (which, for pact contents, carry the whole pact).
CREATE INDEX verifications_content_success ON verifications (pact_version_id, provider_version_id, created_at)
    WHERE success AND NOT wip;
CREATE INDEX pact_versions_provider_consumer_id ON pact_versions (provider_id, consumer_id, id);
DROP INDEX pact_versions_provider;
CREATE INDEX pact_publications_content_version ON pact_publications (pact_version_id, consumer_version_id, created_at);
DROP INDEX pact_publications_pact_version;
CREATE INDEX branch_versions_version_branch ON branch_versions (version_id, branch_id, id);
DROP INDEX branch_versions_version;
CREATE INDEX tags_version_pacticipant ON tags (version_id, pacticipant_id, name);
