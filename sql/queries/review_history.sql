-- Review history of $subject_id (an account or a ring id): every verdict recorded about it,
-- oldest first, with the verdict it superseded, the evidence at review time and whether it is
-- the one in force; for an account, also the verdicts on rings that covered it.
-- Parameters: $subject_id
SELECT a.review_id, a.reviewed_at, a.subject_type, a.subject_id, a.verdict, a.previous_verdict, a.analyst, a.note,
       a.score_at_review, a.signature_at_review, a.n_requests_at_review, a.rate_at_review, a.ring_id_at_review,
       a.n_accounts_at_review, a.is_current,
       a.subject_id <> $subject_id AS via_ring
FROM review_audit a
WHERE a.subject_id = $subject_id
   OR (a.subject_type = 'ring' AND a.review_id IN (
        SELECT review_id FROM review_evidence WHERE account_id = $subject_id))
ORDER BY a.reviewed_at, a.review_id;
