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
               CAST(anomaly_z AS DOUBLE) AS anomaly_z, CAST(n_requests AS DOUBLE) AS n_requests,
               CAST(requests_per_active_hour AS DOUBLE) AS requests_per_active_hour,
               CAST(active_hours AS DOUBLE) AS active_hours,
               CAST(reasoning_share AS DOUBLE) AS reasoning_share, CAST(rubric_share AS DOUBLE) AS rubric_share,
               CAST(length_cut_share AS DOUBLE) AS length_cut_share, CAST(logprobs_share AS DOUBLE) AS logprobs_share,
               CAST(multi_sample_share AS DOUBLE) AS multi_sample_share,
               CAST(distinct_prompt_share AS DOUBLE) AS distinct_prompt_share,
               CAST(slot_diversity AS DOUBLE) AS slot_diversity, CAST(top_skeleton_share AS DOUBLE) AS top_skeleton_share,
               CAST(interarrival_cv AS DOUBLE) AS interarrival_cv, CAST(hour_entropy AS DOUBLE) AS hour_entropy,
               CAST(rate_limited_share AS DOUBLE) AS rate_limited_share, CAST(single_turn_share AS DOUBLE) AS single_turn_share,
               CAST(n_ips AS DOUBLE) AS n_ips, CAST(n_user_agents AS DOUBLE) AS n_user_agents,
               CAST(n_end_users AS DOUBLE) AS n_end_users, CAST(n_system_prompts AS DOUBLE) AS n_system_prompts,
               CAST(n_client_styles AS DOUBLE) AS n_client_styles, CAST(account_age_days AS DOUBLE) AS account_age_days
        FROM account_features
    ) UNPIVOT INCLUDE NULLS (value FOR feature IN (
        score, signature_score, anomaly_z, n_requests, requests_per_active_hour, active_hours, reasoning_share,
        rubric_share, length_cut_share, logprobs_share, multi_sample_share, distinct_prompt_share, slot_diversity,
        top_skeleton_share, interarrival_cv, hour_entropy, rate_limited_share, single_turn_share, n_ips,
        n_user_agents, n_end_users, n_system_prompts, n_client_styles, account_age_days))
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
