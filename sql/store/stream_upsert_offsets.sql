-- Record how far each partition in the registered frame `incoming_offsets` is durable.
INSERT OR REPLACE INTO stream_offsets BY NAME
SELECT group_id, topic, "partition", next_offset, max_event_ts, now()::TIMESTAMP AS updated_at
FROM incoming_offsets;
