-- The offsets audit from the stream's outbox (registered frame `outbox_offsets`: the newest row per
-- partition, with the moment it was recorded): it replaces the stored row unless that one is newer.
INSERT OR REPLACE INTO stream_offsets BY NAME
SELECT i.group_id, i.topic, i."partition", i.next_offset, i.max_event_ts, i.recorded_at AS updated_at
FROM outbox_offsets i
LEFT JOIN stream_offsets s ON s.group_id = i.group_id AND s.topic = i.topic AND s."partition" = i."partition"
WHERE s.updated_at IS NULL OR s.updated_at <= i.recorded_at;
