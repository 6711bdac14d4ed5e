-- Accepted events from the registered frame `incoming_events`; an event_id already stored is ignored
-- (the frame itself holds each event_id once). A repeated event carries its original ts, so the
-- lookup is confined to stored events within a day of the incoming ones ($lo, $hi): DuckDB's
-- zone maps then skip the rest of the table, and the cost stays flat as `events` grows.
INSERT INTO events BY NAME
SELECT i.* EXCLUDE (ts), CAST(i.ts AS TIMESTAMP) AS ts, $source AS source, now()::TIMESTAMP AS ingested_at
FROM incoming_events i
ANTI JOIN (SELECT event_id FROM events WHERE ts BETWEEN $lo AND $hi) e ON e.event_id = i.event_id;
