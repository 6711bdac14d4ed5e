-- Accepted events from the registered frame `incoming_events`; an event_id already stored is ignored.
INSERT OR IGNORE INTO events BY NAME
SELECT * EXCLUDE (ts), CAST(ts AS TIMESTAMP) AS ts, $source AS source, now()::TIMESTAMP AS ingested_at
FROM incoming_events;
