-- Per account, the latest alert the stream raised: what the cooldown and escalation rules need.
SELECT account_id, arg_max(severity, ts) AS severity, arg_max(score, ts) AS score, max(ts) AS ts
FROM alerts
GROUP BY account_id;
