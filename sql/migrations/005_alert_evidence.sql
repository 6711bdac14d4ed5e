-- distillguard store, version 5: the figures behind each streaming alert, so that a dismissal
-- can be compared with them later (see distillguard/stream/alerts.py, "material change").
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS n_requests BIGINT;                 -- requests in the alert's window
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS requests_per_active_hour DOUBLE;   -- over that window
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS signature_score DOUBLE;            -- extraction signature then
