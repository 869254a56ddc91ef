-- A provider version can carry one contract of each kind: an OpenAPI document (`oas`)
-- for its HTTP API and an AsyncAPI document (`asyncapi`) for the events it sends.
-- Publishing again for the same version and kind replaces that one.
ALTER TABLE provider_contracts DROP CONSTRAINT provider_contracts_provider_version_id_key;
ALTER TABLE provider_contracts
    ADD CONSTRAINT provider_contracts_version_kind UNIQUE (provider_version_id, specification);
