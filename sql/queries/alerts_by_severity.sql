-- Streaming alerts by severity (critical, high, medium, low, then unrated): how many alerts and
-- accounts, the first and last alert (event time), the highest score, how many of those
-- accounts batch detection flags now and how many an analyst dismissed (verdict in force
-- false_positive), and the five accounts with the highest alert score.
-- Parameters: none
WITH a AS (
    SELECT al.*, coalesce(al.severity, 'unrated') AS sev FROM alerts al
),
per_account AS (
    SELECT sev, account_id, max(score) AS max_score FROM a GROUP BY sev, account_id
),
top AS (
    SELECT sev, list(account_id ORDER BY max_score DESC, account_id)[1:5] AS top_accounts
    FROM per_account GROUP BY sev
)
SELECT a.sev AS severity,
       count(*) AS alerts,
       count(DISTINCT a.account_id) AS accounts,
       min(a.ts) AS first_alert, max(a.ts) AS last_alert,
       max(a.score) AS max_score,
       count(DISTINCT a.account_id) FILTER (WHERE a.account_id IN (SELECT account_id FROM flagged_accounts)) AS accounts_flagged_now,
       count(DISTINCT a.account_id) FILTER (WHERE a.account_id IN (
           SELECT account_id FROM account_verdicts WHERE verdict = 'false_positive')) AS accounts_dismissed,
       any_value(t.top_accounts) AS top_accounts
FROM a JOIN top t USING (sev)
GROUP BY a.sev
ORDER BY CASE a.sev WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, a.sev;
