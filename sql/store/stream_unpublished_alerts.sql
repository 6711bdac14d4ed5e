-- Alerts stored but not yet on the alerts topic (the outbox), oldest first.
SELECT alert_id, ts, account_id, score, reasons, severity, first_event_ts, raised_at
FROM alerts
WHERE published_at IS NULL
ORDER BY raised_at, alert_id;
