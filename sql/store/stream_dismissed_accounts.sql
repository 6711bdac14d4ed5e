-- Accounts whose latest analyst verdict is 'false_positive', with the strongest alert the
-- analyst had seen by then (severity and score; NULL when dismissed before any alert).
WITH latest AS (
    SELECT subject_id AS account_id, arg_max(verdict, reviewed_at) AS verdict, max(reviewed_at) AS reviewed_at
    FROM reviews
    WHERE subject_type = 'account'
    GROUP BY subject_id
)
SELECT l.account_id,
       max(a.score) AS score,
       arg_max(a.severity, a.score) AS severity
FROM latest l
LEFT JOIN alerts a ON a.account_id = l.account_id AND (a.raised_at IS NULL OR a.raised_at <= l.reviewed_at)
WHERE l.verdict = 'false_positive'
GROUP BY l.account_id;
