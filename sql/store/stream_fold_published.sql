-- Published markers from the stream's outbox (registered frame `outbox_published`: alert_id,
-- published_at): an alert not yet marked gets the time it was first put on the alerts topic.
UPDATE alerts SET published_at = m.published_at
FROM (SELECT alert_id, min(published_at) AS published_at FROM outbox_published GROUP BY alert_id) m
WHERE alerts.alert_id = m.alert_id AND alerts.published_at IS NULL;
