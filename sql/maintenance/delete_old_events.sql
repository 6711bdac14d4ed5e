-- Retention: events whose event time is older than the cutoff (store.event_retention_days) go.
DELETE FROM events WHERE ts < $cutoff;
