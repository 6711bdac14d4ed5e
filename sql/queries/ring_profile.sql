-- Ring profile: one row describing ring $ring_id: kind, score, its members (sorted), the
-- attributes that link them (from `rings.shared`: client IPs, payment fingerprint, signup
-- network, system prompt, template, user agent, mail domain, each with how many members hold
-- it), the members' combined volume and first/last request (recomputed from `events`), their
-- joint prompt coverage (events carry no topic column, so coverage is measured on prompts:
-- distinct prompts across all members and their share of logged prompts, the members' distinct
-- dominant templates), distinct client /24 networks, payment fingerprints and signup networks
-- among the members, the verdict in force on the ring, and the ring's reasons.
-- Parameters: $ring_id
WITH ring AS (
    SELECT * FROM rings WHERE ring_id = $ring_id
),
members AS (
    SELECT account_id FROM ring_members WHERE ring_id = $ring_id
),
traffic AS (
    SELECT count(*) AS combined_requests,
           min(ts) AS first_request, max(ts) AS last_request,
           count(prompt) AS logged_prompts,
           count(DISTINCT prompt) AS distinct_prompts,
           count(DISTINCT regexp_extract(client_ip, '^(\d+\.\d+\.\d+)\.\d+$', 1)) FILTER (WHERE client_ip LIKE '%.%') AS client_ipv4_networks,
           count(DISTINCT client_ip) AS client_ips,
           count(DISTINCT user_agent) AS user_agents
    FROM events WHERE account_id IN (SELECT account_id FROM members)
),
metadata AS (
    SELECT count(DISTINCT a.payment_fingerprint) AS payment_fingerprints,
           count(DISTINCT regexp_extract(a.signup_ip, '^(\d+\.\d+\.\d+)\.\d+$', 1)) AS signup_networks,
           count(DISTINCT a.email_domain) AS email_domains,
           min(a.created_at) AS first_account_created, max(a.created_at) AS last_account_created
    FROM accounts a WHERE a.account_id IN (SELECT account_id FROM members)
),
templates AS (
    SELECT count(DISTINCT dominant_skeleton) AS dominant_templates, sum(n_requests) AS feature_requests
    FROM account_features WHERE account_id IN (SELECT account_id FROM members)
)
SELECT r.ring_id, r.kind, r.score, r.n_accounts,
       (SELECT list(account_id ORDER BY account_id) FROM members) AS members,
       (SELECT list(f.account_id ORDER BY f.account_id) FROM flagged_accounts f
         WHERE f.ring_id = r.ring_id) AS flagged_with_ring_id,
       json_extract_string(r.shared, '$.values[*].value') AS shared_values,
       CAST(json_extract(r.shared, '$.values[*].holders') AS INTEGER[]) AS shared_value_holders,
       t.combined_requests, t.first_request, t.last_request,
       t.distinct_prompts, t.logged_prompts,
       CASE WHEN t.logged_prompts > 0 THEN t.distinct_prompts * 1.0 / t.logged_prompts END AS joint_distinct_prompt_share,
       tp.dominant_templates, t.client_ips, t.client_ipv4_networks, t.user_agents,
       m.payment_fingerprints, m.signup_networks, m.email_domains, m.first_account_created, m.last_account_created,
       v.verdict AS current_verdict, v.analyst AS verdict_by, v.reviewed_at AS verdict_at,
       r.reasons
FROM ring r
CROSS JOIN traffic t
CROSS JOIN metadata m
CROSS JOIN templates tp
LEFT JOIN current_verdicts v ON v.subject_type = 'ring' AND v.subject_id = r.ring_id;
