-- Dead letters from the registered frame `incoming_rejected`; the same record twice counts once.
INSERT OR IGNORE INTO rejected_events BY NAME
SELECT md5(source || '|' || coalesce(CAST(position AS VARCHAR), '') || '|' || coalesce(raw, '')) AS rejected_id,
       source, position, raw, reason_code, reason, now()::TIMESTAMP AS rejected_at
FROM incoming_rejected;
