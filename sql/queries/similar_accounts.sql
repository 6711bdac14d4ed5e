-- Accounts similar to $account_id, two ways, best first:
--  * sharing an attribute with it: a client /24 (or /48) network carrying >= 5% of both
--    accounts' requests, a system prompt or user agent carrying >= 20% of both (or >= 20
--    requests), the payment fingerprint, signup /24 network or e-mail domain (from `accounts`),
--    or the dominant prompt template (`account_features`, when it covers >= 30% of prompts);
--    `holders` tells how common each value is (a campus NAT is shared by many ordinary users);
--  * nearest by behaviour: Euclidean distance over robust-standardised features (median and
--    1.4826 x MAD over all accounts, log10(1+x) for counts), the 10 nearest listed even when
--    nothing is shared.
-- Columns: shared_kinds (kinds of attribute shared), shared (kind:value [holders]), distance,
-- distance_rank, and each account's flag, score, ring and verdict in force.
-- Parameters: $account_id
WITH ip_use AS (
    SELECT account_id,
           coalesce(regexp_extract(client_ip, '^(\d+\.\d+\.\d+)\.\d+$', 1) || '.0/24',
                    nullif(regexp_extract(lower(client_ip), '^([0-9a-f]{0,4}:[0-9a-f]{0,4}:[0-9a-f]{0,4})', 1), '') || '::/48',
                    client_ip) AS network,
           count(*) AS n
    FROM events GROUP BY ALL
),
attr_use AS (
    SELECT account_id, 'system_prompt' AS kind, system_prompt_hash AS value, count(*) AS n
    FROM events WHERE system_prompt_hash IS NOT NULL GROUP BY ALL
    UNION ALL
    SELECT account_id, 'user_agent', user_agent, count(*)
    FROM events WHERE user_agent IS NOT NULL GROUP BY ALL
),
totals AS (
    SELECT account_id, count(*) AS n FROM events GROUP BY ALL
),
link_values AS (
    SELECT i.account_id, 'client_network' AS kind, i.network AS value
    FROM ip_use i JOIN totals t USING (account_id) WHERE i.network <> '' AND i.n >= 0.05 * t.n
    UNION
    SELECT u.account_id, u.kind, u.value
    FROM attr_use u JOIN totals t USING (account_id) WHERE u.n >= 0.2 * t.n OR u.n >= 20
    UNION
    SELECT account_id, 'payment', payment_fingerprint FROM accounts WHERE payment_fingerprint IS NOT NULL
    UNION
    SELECT account_id, 'signup_network', regexp_extract(signup_ip, '^(\d+\.\d+\.\d+)\.\d+$', 1) || '.0/24'
    FROM accounts WHERE regexp_matches(signup_ip, '^\d+\.\d+\.\d+\.\d+$')
    UNION
    SELECT account_id, 'email_domain', lower(email_domain) FROM accounts WHERE email_domain IS NOT NULL
    UNION
    SELECT account_id, 'template', dominant_skeleton FROM account_features
    WHERE top_skeleton_share >= 0.3 AND dominant_skeleton IS NOT NULL AND dominant_skeleton <> ''
),
holders AS (
    SELECT kind, value, count(DISTINCT account_id) AS holders FROM link_values GROUP BY ALL
),
shared AS (
    SELECT o.account_id,
           count(DISTINCT o.kind) AS shared_kinds,
           list(o.kind || ':' || o.value || ' [' || h.holders || ']' ORDER BY h.holders, o.kind, o.value) AS shared
    FROM link_values mine
    JOIN link_values o ON o.kind = mine.kind AND o.value = mine.value AND o.account_id <> mine.account_id
    JOIN holders h ON h.kind = o.kind AND h.value = o.value
    WHERE mine.account_id = $account_id
    GROUP BY o.account_id
),
feature_rows AS (
    SELECT * FROM (
        SELECT account_id,
               log10(1 + n_requests) AS log_requests, log10(1 + requests_per_active_hour) AS log_rate,
               CAST(reasoning_share AS DOUBLE) AS reasoning_share, CAST(rubric_share AS DOUBLE) AS rubric_share,
               CAST(length_cut_share AS DOUBLE) AS length_cut_share, CAST(logprobs_share AS DOUBLE) AS logprobs_share,
               CAST(multi_sample_share AS DOUBLE) AS multi_sample_share,
               CAST(distinct_prompt_share AS DOUBLE) AS distinct_prompt_share, CAST(slot_diversity AS DOUBLE) AS slot_diversity,
               CAST(interarrival_cv AS DOUBLE) AS interarrival_cv, CAST(hour_entropy AS DOUBLE) AS hour_entropy,
               CAST(single_turn_share AS DOUBLE) AS single_turn_share, CAST(rate_limited_share AS DOUBLE) AS rate_limited_share,
               log10(1 + n_system_prompts) AS log_system_prompts, log10(1 + n_end_users) AS log_end_users,
               log10(1 + n_ips) AS log_ips
        FROM account_features
    ) UNPIVOT (value FOR feature IN (
        log_requests, log_rate, reasoning_share, rubric_share, length_cut_share, logprobs_share, multi_sample_share,
        distinct_prompt_share, slot_diversity, interarrival_cv, hour_entropy, single_turn_share, rate_limited_share,
        log_system_prompts, log_end_users, log_ips))
),
scales AS (
    SELECT feature, median(value) AS centre,
           coalesce(nullif(1.4826 * mad(value), 0), nullif(stddev_pop(value), 0), 1.0) AS spread
    FROM feature_rows GROUP BY feature
),
z AS (
    SELECT r.account_id, r.feature, (r.value - s.centre) / s.spread AS z
    FROM feature_rows r JOIN scales s USING (feature)
),
distances AS (
    SELECT o.account_id, sqrt(sum((o.z - mine.z) ^ 2)) AS distance
    FROM z mine JOIN z o ON o.feature = mine.feature AND o.account_id <> mine.account_id
    WHERE mine.account_id = $account_id
    GROUP BY o.account_id
),
ranked AS (
    SELECT *, row_number() OVER (ORDER BY distance, account_id) AS distance_rank FROM distances
)
SELECT coalesce(s.account_id, d.account_id) AS account_id,
       coalesce(s.shared_kinds, 0) AS shared_kinds, coalesce(s.shared, []) AS shared,
       d.distance, d.distance_rank,
       f.account_id IS NOT NULL AS flagged, f.score, f.ring_id,
       f.ring_id IS NOT NULL AND f.ring_id = (SELECT ring_id FROM flagged_accounts WHERE account_id = $account_id) AS same_ring,
       v.verdict AS current_verdict
FROM shared s
FULL OUTER JOIN (SELECT * FROM ranked) d ON d.account_id = s.account_id
LEFT JOIN flagged_accounts f ON f.account_id = coalesce(s.account_id, d.account_id)
LEFT JOIN account_verdicts v ON v.account_id = coalesce(s.account_id, d.account_id)
WHERE s.account_id IS NOT NULL OR d.distance_rank <= 10
ORDER BY shared_kinds DESC, d.distance NULLS LAST, account_id
LIMIT 50;
