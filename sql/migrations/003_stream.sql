-- distillguard store, version 3: what the streaming path needs beyond version 1.

-- Alerts outbox: an alert is written here first and published to the alerts topic after; a
-- consumer that crashed in between publishes the rows still NULL when it starts again.
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS published_at TIMESTAMP;

-- How far each consumed partition is durable in this database (for lag dashboards and audits;
-- Kafka's committed offsets and the checkpoints remain what consumers resume from).
CREATE TABLE IF NOT EXISTS stream_offsets (
    group_id     VARCHAR NOT NULL,
    topic        VARCHAR NOT NULL,
    "partition"  INTEGER NOT NULL,
    next_offset  BIGINT NOT NULL,
    max_event_ts TIMESTAMP,
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (group_id, topic, "partition")
);
