-- distillguard store, version 4: analysts' verdicts that feed back into detection.
--
-- `reviews` is append-only: it is the audit trail. A verdict is never updated or deleted; a
-- new row supersedes it (the latest `reviewed_at`, then the highest `review_id`, wins).
-- Record one with `distillguard review SUBJECT --verdict ... --analyst ...` (which also stores
-- the evidence at review time) or with plain SQL from a writable connection:
--
--   INSERT INTO reviews (subject_type, subject_id, verdict, analyst, note,
--                        score_at_review, n_requests_at_review, signature_at_review, ring_id_at_review, reasons_at_review)
--   SELECT 'account', account_id, 'false_positive', 'alice', 'nightly eval job of a known customer',
--          score, n_requests, CAST(evidence->>'signature_score' AS DOUBLE), ring_id, reasons
--   FROM flagged_accounts WHERE account_id = 'acct-00042';
--
-- (subject_type, subject_id, verdict and analyst are required; review_id and reviewed_at default.)
-- How verdicts act on the next detection run: see distillguard/reviews.py and the README.

CREATE SEQUENCE IF NOT EXISTS review_id_seq START 1;

CREATE TABLE IF NOT EXISTS reviews (
    review_id             BIGINT PRIMARY KEY DEFAULT nextval('review_id_seq'),
    subject_type          VARCHAR NOT NULL CHECK (subject_type IN ('account', 'ring')),
    subject_id            VARCHAR NOT NULL,          -- account_id or ring_id
    verdict               VARCHAR NOT NULL CHECK (verdict IN ('confirmed', 'false_positive', 'needs_info')),
    analyst               VARCHAR NOT NULL,
    note                  VARCHAR,
    reviewed_at           TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    -- the evidence the analyst saw (the subject's figures when the verdict was recorded)
    score_at_review       DOUBLE,                    -- account or ring score
    signature_at_review   DOUBLE,                    -- account extraction/reseller signature score
    n_requests_at_review  BIGINT,                    -- account's (ring's combined) requests in the window
    rate_at_review        DOUBLE,                    -- account's requests per active hour
    ring_id_at_review     VARCHAR,                   -- account's ring then (or the ring itself)
    n_accounts_at_review  INTEGER,                   -- ring size (ring verdicts)
    reasons_at_review     VARCHAR
);

-- Per verdict, the accounts it covers (the account itself, or every member of the ring) and
-- each one's evidence at review time: the baseline the "material change" rule compares with.
-- Written with the verdict by `distillguard review`; for a verdict inserted with plain SQL, by
-- the first detection run after it (from the results the analyst was looking at). Append-only.
CREATE TABLE IF NOT EXISTS review_evidence (
    review_id                 BIGINT NOT NULL,
    account_id                VARCHAR NOT NULL,
    score                     DOUBLE,
    signature_score           DOUBLE,
    n_requests                BIGINT,
    requests_per_active_hour  DOUBLE,
    ring_id                   VARCHAR,
    reasons                   VARCHAR,
    captured_at               TIMESTAMP NOT NULL,
    captured_by               VARCHAR NOT NULL,      -- 'review' (with the verdict) | 'detection' (first run after)
    PRIMARY KEY (review_id, account_id)
);

-- Every verdict in order, with the one it superseded: the audit trail as analysts read it.
CREATE OR REPLACE VIEW review_audit AS
SELECT review_id, reviewed_at, subject_type, subject_id, verdict,
       lag(verdict) OVER w AS previous_verdict,
       lag(analyst) OVER w AS previous_analyst,
       analyst, note, score_at_review, signature_at_review, n_requests_at_review, rate_at_review,
       ring_id_at_review, n_accounts_at_review,
       row_number() OVER (PARTITION BY subject_type, subject_id ORDER BY reviewed_at DESC, review_id DESC) = 1 AS is_current
FROM reviews
WINDOW w AS (PARTITION BY subject_type, subject_id ORDER BY reviewed_at, review_id)
ORDER BY reviewed_at, review_id;

-- The verdict in force for each reviewed subject (account or ring): its latest review.
CREATE OR REPLACE VIEW current_verdicts AS
SELECT subject_type, subject_id, verdict, analyst, note, reviewed_at, review_id,
       score_at_review, signature_at_review, n_requests_at_review, rate_at_review, ring_id_at_review,
       n_accounts_at_review, count(*) OVER (PARTITION BY subject_type, subject_id) AS n_reviews
FROM reviews
QUALIFY row_number() OVER (PARTITION BY subject_type, subject_id ORDER BY reviewed_at DESC, review_id DESC) = 1;

-- The verdict in force for each account, counting ring verdicts for the accounts they covered
-- (from review_evidence): the latest of the account's own and its rings' verdicts wins. The
-- baseline_* columns are the account's evidence at review time (NULL until captured).
CREATE OR REPLACE VIEW account_verdicts AS
WITH covered AS (
    SELECT r.review_id, r.subject_id AS account_id
    FROM reviews r WHERE r.subject_type = 'account'
    UNION
    SELECT r.review_id, e.account_id
    FROM reviews r JOIN review_evidence e ON e.review_id = r.review_id
    WHERE r.subject_type = 'ring'
)
SELECT c.account_id, r.verdict, r.analyst, r.note, r.reviewed_at, r.review_id, r.subject_type, r.subject_id,
       e.score AS baseline_score, e.signature_score AS baseline_signature, e.n_requests AS baseline_n_requests,
       e.requests_per_active_hour AS baseline_rate, e.ring_id AS baseline_ring_id, e.reasons AS baseline_reasons
FROM covered c
JOIN reviews r ON r.review_id = c.review_id
LEFT JOIN review_evidence e ON e.review_id = c.review_id AND e.account_id = c.account_id
QUALIFY row_number() OVER (PARTITION BY c.account_id ORDER BY r.reviewed_at DESC, r.review_id DESC) = 1;
