-- Mark the alerts in the registered frame `published_alerts` (column alert_id) as on the topic.
UPDATE alerts SET published_at = now()::TIMESTAMP
WHERE published_at IS NULL AND alert_id IN (SELECT alert_id FROM published_alerts);
