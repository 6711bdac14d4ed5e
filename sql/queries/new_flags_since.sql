-- New flags since a time: accounts flagged now whose current flag started at or after $since
-- (first_flagged; an account dismissed and flagged again counts from its new flag), most
-- suspicious first, with the ring, the verdict in force (if any) and the reasons.
-- Parameters: $since  a timestamp, UTC (e.g. 2026-11-02 or '2026-11-02 13:00:00').
SELECT f.account_id, f.score, f.severity, f.kind_guess, f.ring_id, f.n_requests,
       f.first_flagged, f.first_seen, f.last_seen,
       v.verdict AS current_verdict, f.reasons
FROM flagged_accounts f
LEFT JOIN account_verdicts v USING (account_id)
WHERE f.first_flagged >= CAST($since AS TIMESTAMP)
ORDER BY f.score DESC, f.account_id;
