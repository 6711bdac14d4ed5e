-- Privacy: prompt text older than the cutoff (store.prompt_retention_days) is cleared in the event
-- lake by distillguard.lake.maintain (the maintenance flow rewrites those partitions without it);
-- the event's other fields stay for the detectors. Nothing to clear in DuckDB.
SELECT 0 AS cleared, $cutoff AS cutoff;
