-- The review queue: flagged accounts no analyst has confirmed: never reviewed, waiting for more
-- information (needs_info), or flagged again after a dismissal because their behaviour changed
-- materially (verdict in force false_positive). Ring verdicts count for the accounts they
-- covered. Most severe first; ring members first within a severity; then by score.
-- Parameters: none
SELECT f.account_id, f.severity, f.score, f.kind_guess, f.ring_id, f.n_requests, f.first_flagged,
       v.verdict AS current_verdict, v.analyst AS verdict_by, v.reviewed_at AS verdict_at, f.reasons
FROM flagged_accounts f
LEFT JOIN account_verdicts v USING (account_id)
WHERE v.verdict IS DISTINCT FROM 'confirmed'
ORDER BY CASE f.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END,
         f.ring_id IS NULL, f.score DESC, f.account_id;
