-- Retention of events: they live in the event lake, whose partitions past the cutoff
-- (store.event_retention_days) are deleted by distillguard.lake.maintain (the maintenance flow);
-- nothing to delete in DuckDB.
SELECT 0 AS deleted, $cutoff AS cutoff;
