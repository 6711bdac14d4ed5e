-- Account profile: one row per behavioural feature of $account_id with the median of its peer
-- group (volume band x conversational/programmatic; groups under 12 accounts use everyone, as
-- detection does) and the ratio to it, from `account_features` (the last detection run); each
-- row repeats the account's standing: flagged or not, score, severity, signature score, ring
-- and ring kind, the verdict in force and the reasons (from `flagged_accounts`).
-- Parameters: $account_id
WITH feature_rows AS (
    SELECT * FROM (
        SELECT account_id, peer_group,
               CAST(score AS DOUBLE) AS score, CAST(signature_score AS DOUBLE) AS signature_score,
               CAST(anomaly_z AS DOUBLE) AS anomaly_z,
               -- the features with a place in the profile in the feature registry (features/families.py)
               {profile_features}
        FROM account_features
    ) UNPIVOT INCLUDE NULLS (value FOR feature IN (COLUMNS(* EXCLUDE (account_id, peer_group))))
),
with_peers AS (
    SELECT *,
           CASE WHEN count(*) OVER (PARTITION BY peer_group, feature) >= 12
                THEN median(value) OVER (PARTITION BY peer_group, feature)
                ELSE median(value) OVER (PARTITION BY feature) END AS peer_median,
           row_number() OVER () AS _order
    FROM feature_rows
)
SELECT p.account_id, p.peer_group, p.feature, p.value, p.peer_median,
       CASE WHEN p.peer_median <> 0 THEN p.value / p.peer_median END AS ratio_to_peers,
       f.account_id IS NOT NULL AS flagged, f.score AS flagged_score, f.severity, f.kind_guess,
       f.ring_id, r.kind AS ring_kind, v.verdict AS current_verdict, v.analyst AS verdict_by,
       f.reasons
FROM with_peers p
LEFT JOIN flagged_accounts f ON f.account_id = p.account_id
LEFT JOIN rings r ON r.ring_id = f.ring_id
LEFT JOIN account_verdicts v ON v.account_id = p.account_id
WHERE p.account_id = $account_id
ORDER BY p._order;
