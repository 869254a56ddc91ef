-- Indexes for the reads that can-i-deploy, the matrix and pacts for verification make,
-- so that their cost follows the size of the answer rather than of the history.

-- The integrations and contents of a provider.
CREATE INDEX pact_versions_provider ON pact_versions (provider_id, consumer_id);
-- A branch's head is its membership with the highest id.
CREATE INDEX branch_versions_branch_id ON branch_versions (branch_id, id);
-- A pacticipant's versions, newest first.
CREATE INDEX versions_pacticipant_id ON versions (pacticipant_id, id);
-- Deployments and releases of a pacticipant, and of an environment.
CREATE INDEX deployed_versions_pacticipant ON deployed_versions (pacticipant_id, environment_id);
CREATE INDEX deployed_versions_environment ON deployed_versions (environment_id);
CREATE INDEX released_versions_pacticipant ON released_versions (pacticipant_id, environment_id);
CREATE INDEX released_versions_environment ON released_versions (environment_id);
-- The first version added to a branch (the pending rule counts results from before it).
CREATE INDEX branch_versions_branch_created ON branch_versions (branch_id, created_at);
-- The current deployments and supported releases, without reading the ended ones.
CREATE INDEX deployed_versions_current_id ON deployed_versions (id) WHERE undeployed_at IS NULL;
CREATE INDEX released_versions_supported_id ON released_versions (id) WHERE support_ended_at IS NULL;
