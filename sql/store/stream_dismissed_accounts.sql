-- Accounts whose verdict in force (their own, or a ring verdict that covered them; view
-- account_verdicts) is 'false_positive', with what the analyst had seen: the strongest alert
-- raised on the account before the verdict (its score; NULL when dismissed before any alert)
-- and its requests per active hour (at review time, else in that alert's window).
SELECT v.account_id,
       max(a.score) AS score,
       coalesce(any_value(v.baseline_rate), arg_max(a.requests_per_active_hour, a.score)) AS rate
FROM account_verdicts v
LEFT JOIN alerts a ON a.account_id = v.account_id AND (a.raised_at IS NULL OR a.raised_at <= v.reviewed_at)
WHERE v.verdict = 'false_positive'
GROUP BY v.account_id;
