-- Tags carry their version's pacticipant, so that the latest version with a tag (per
-- pacticipant and name) is one index seek, and a pacticipant's tag heads one index range,
-- instead of a walk over all its versions or over every tag of that name.
ALTER TABLE tags ADD COLUMN pacticipant_id BIGINT REFERENCES pacticipants (id) ON DELETE CASCADE;
UPDATE tags SET pacticipant_id = v.pacticipant_id FROM versions v WHERE v.id = tags.version_id;
ALTER TABLE tags ALTER COLUMN pacticipant_id SET NOT NULL;
CREATE INDEX tags_pacticipant_name ON tags (pacticipant_id, name, version_id);
