-- Accepted events from the registered frame `incoming_events`; an event_id already stored is ignored
-- (the frame itself holds each event_id once).
INSERT INTO events BY NAME
SELECT i.* EXCLUDE (ts), CAST(i.ts AS TIMESTAMP) AS ts, $source AS source, now()::TIMESTAMP AS ingested_at
FROM incoming_events i
ANTI JOIN events e ON e.event_id = i.event_id;
