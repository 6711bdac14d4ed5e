-- Privacy: prompt text older than the cutoff (store.prompt_retention_days) is cleared; the
-- event's other fields stay for the detectors.
UPDATE events SET prompt = NULL WHERE ts < $cutoff AND prompt IS NOT NULL;
