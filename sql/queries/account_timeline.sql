-- Account timeline: the hourly activity of $account_id from `events`, every hour between its
-- first and last request (hours without requests show 0): requests, distinct prompts, HTTP 429
-- and other errors, requests asking for log-probabilities or n>1 samples, answers cut at
-- max_tokens, completion tokens, client IPs and end users. Times are UTC hour starts.
-- A quiet spell longer than 31 days (more than the event retention) shows its first 31 days of
-- zero hours only, then the next active hour: a stored time stamp far from the others (year 1
-- or 9999, left by a reader before the accepted time range) cannot make the timeline millions
-- of hours long.
-- Parameters: $account_id
WITH acct AS (
    SELECT * FROM events WHERE account_id = $account_id
),
activity AS (
    SELECT date_trunc('hour', ts) AS hour,
           count(*) AS requests,
           count(DISTINCT prompt) AS distinct_prompts,
           count(*) FILTER (WHERE status = 429) AS rate_limited,
           count(*) FILTER (WHERE status >= 400 AND status <> 429) AS other_errors,
           count(*) FILTER (WHERE logprobs) AS logprobs_requests,
           count(*) FILTER (WHERE n > 1) AS multi_sample_requests,
           count(*) FILTER (WHERE finish_reason = 'length') AS cut_at_max_tokens,
           sum(completion_tokens) AS completion_tokens,
           count(DISTINCT client_ip) AS client_ips,
           count(DISTINCT end_user_id) AS end_users
    FROM acct
    GROUP BY 1
),
spells AS (
    SELECT hour, lead(hour) OVER (ORDER BY hour) AS next_hour FROM activity
),
hours AS (
    -- each active hour, then the quiet hours after it up to the next active hour (31 days at most)
    SELECT unnest(generate_series(hour, least(coalesce(next_hour - INTERVAL 1 HOUR, hour), hour + INTERVAL 744 HOUR),
                                  INTERVAL 1 HOUR)) AS hour
    FROM spells
)
SELECT $account_id AS account_id, h.hour,
       coalesce(a.requests, 0) AS requests, coalesce(a.distinct_prompts, 0) AS distinct_prompts,
       coalesce(a.rate_limited, 0) AS rate_limited, coalesce(a.other_errors, 0) AS other_errors,
       coalesce(a.logprobs_requests, 0) AS logprobs_requests, coalesce(a.multi_sample_requests, 0) AS multi_sample_requests,
       coalesce(a.cut_at_max_tokens, 0) AS cut_at_max_tokens, CAST(coalesce(a.completion_tokens, 0) AS BIGINT) AS completion_tokens,
       coalesce(a.client_ips, 0) AS client_ips, coalesce(a.end_users, 0) AS end_users
FROM hours h
LEFT JOIN activity a USING (hour)
ORDER BY h.hour;
