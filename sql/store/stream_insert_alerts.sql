-- New alerts from the registered frame `incoming_alerts`; an alert_id already stored is ignored
-- (a replayed micro-batch raises the same deterministic ids).
INSERT OR IGNORE INTO alerts BY NAME
SELECT alert_id, ts, account_id, score, reasons, severity, first_event_ts, raised_at, NULL::TIMESTAMP AS published_at,
       n_requests, requests_per_active_hour, signature_score
FROM incoming_alerts;
