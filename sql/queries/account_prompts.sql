-- Sample prompts of $account_id: up to 25 of its logged prompts, a deterministic spread (by a
-- hash of event_id, so the same database gives the same sample), each with how often the
-- account sent exactly that prompt, the account's share of requests carrying a prompt, and the
-- request's sampling settings, in time order. Maintenance may clear old prompts; those events do not appear.
-- Parameters: $account_id
WITH acct AS (
    SELECT event_id, ts, prompt, model, endpoint, finish_reason, logprobs, n, max_tokens, response_format,
           system_prompt_hash, completion_tokens,
           count(*) OVER (PARTITION BY prompt) AS times_sent,
           count(prompt) OVER () * 1.0 / count(*) OVER () AS prompt_logged_share
    FROM events
    WHERE account_id = $account_id
)
, sample AS (
    SELECT * FROM acct WHERE prompt IS NOT NULL ORDER BY hash(event_id), event_id LIMIT 25
)
SELECT $account_id AS account_id, ts, prompt, times_sent, model, endpoint, finish_reason, logprobs, n, max_tokens,
       response_format, completion_tokens, prompt_logged_share, event_id
FROM sample
ORDER BY ts, event_id;
