-- distillguard store, version 1: accepted events, rejects, accounts and the contract relations.
-- Timestamps are UTC, stored as TIMESTAMP.

-- event_id is unique: inserts anti-join on it (sql/store/insert_events.sql), which is far
-- faster than maintaining an index over millions of ids.
CREATE TABLE IF NOT EXISTS events (
    event_id            VARCHAR NOT NULL,
    ts                  TIMESTAMP NOT NULL,
    account_id          VARCHAR NOT NULL,
    api_key_id          VARCHAR NOT NULL,
    end_user_id         VARCHAR,
    client_ip           VARCHAR NOT NULL,
    asn                 BIGINT,
    country             VARCHAR,
    user_agent          VARCHAR,
    endpoint            VARCHAR NOT NULL,
    model               VARCHAR NOT NULL,
    status              INTEGER NOT NULL,
    latency_ms          DOUBLE,
    prompt_tokens       BIGINT NOT NULL,
    completion_tokens   BIGINT NOT NULL,
    finish_reason       VARCHAR,
    temperature         DOUBLE,
    top_p               DOUBLE,
    max_tokens          BIGINT,
    n                   INTEGER,
    stream              BOOLEAN,
    logprobs            BOOLEAN,
    top_logprobs        INTEGER,
    tools               INTEGER,
    response_format     VARCHAR,
    conversation_id     VARCHAR,
    turn                INTEGER,
    system_prompt_hash  VARCHAR,
    prompt              VARCHAR,
    source              VARCHAR,
    ingested_at         TIMESTAMP NOT NULL
);

-- Dead letters: every record that was set aside, with why.
CREATE TABLE IF NOT EXISTS rejected_events (
    rejected_id   VARCHAR PRIMARY KEY,   -- md5(source, position, raw): the same record rejected twice counts once
    source        VARCHAR NOT NULL,
    position      BIGINT,
    raw           VARCHAR,
    reason_code   VARCHAR NOT NULL,
    reason        VARCHAR NOT NULL,
    rejected_at   TIMESTAMP NOT NULL
);

-- What the billing/identity system knows of an account (latest record wins).
CREATE TABLE IF NOT EXISTS accounts (
    account_id           VARCHAR PRIMARY KEY,
    created_at           TIMESTAMP,
    tier                 VARCHAR,
    email_domain         VARCHAR,
    payment_fingerprint  VARCHAR,
    signup_ip            VARCHAR,
    country              VARCHAR,
    updated_at           TIMESTAMP NOT NULL
);

-- Accounts currently judged abusive (contract relation).
CREATE TABLE IF NOT EXISTS flagged_accounts (
    account_id      VARCHAR PRIMARY KEY,
    score           DOUBLE NOT NULL,          -- higher = more suspicious
    reasons         VARCHAR NOT NULL,         -- human-readable evidence, one sentence per line
    ring_id         VARCHAR,
    severity        VARCHAR,                  -- low / medium / high / critical
    kind_guess      VARCHAR,                  -- which extraction pattern the evidence fits best
    n_requests      BIGINT,
    first_seen      TIMESTAMP,
    last_seen       TIMESTAMP,
    first_flagged   TIMESTAMP,
    last_flagged    TIMESTAMP,
    evidence        JSON,                     -- the features behind the reasons, with peer medians
    run_id          VARCHAR
);

-- Groups of accounts judged to act together (contract relation).
CREATE TABLE IF NOT EXISTS rings (
    ring_id        VARCHAR PRIMARY KEY,
    kind           VARCHAR NOT NULL,          -- coordinated | reseller
    n_accounts     INTEGER NOT NULL,
    score          DOUBLE NOT NULL,
    reasons        VARCHAR NOT NULL,
    n_requests     BIGINT,
    first_seen     TIMESTAMP,
    last_seen      TIMESTAMP,
    shared         JSON,                      -- the shared attributes that link the members
    run_id         VARCHAR
);

CREATE TABLE IF NOT EXISTS ring_members (
    ring_id     VARCHAR NOT NULL,
    account_id  VARCHAR NOT NULL,
    PRIMARY KEY (ring_id, account_id)
);

-- Alerts raised by the streaming path (contract relation).
CREATE TABLE IF NOT EXISTS alerts (
    alert_id       VARCHAR PRIMARY KEY,
    ts             TIMESTAMP NOT NULL,        -- event time at which the alert fired
    account_id     VARCHAR NOT NULL,
    score          DOUBLE NOT NULL,
    reasons        VARCHAR NOT NULL,
    severity       VARCHAR,
    first_event_ts TIMESTAMP,                 -- the account's first request seen by the stream
    raised_at      TIMESTAMP                  -- wall-clock time the alert was written
);

-- One row per pipeline run: what it read, kept, rejected and found.
CREATE TABLE IF NOT EXISTS runs (
    run_id        VARCHAR PRIMARY KEY,
    kind          VARCHAR NOT NULL,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    status        VARCHAR NOT NULL,
    records_read  BIGINT,
    accepted      BIGINT,
    inserted      BIGINT,
    rejected      BIGINT,
    duplicates    BIGINT,
    flagged       BIGINT,
    rings         BIGINT,
    message       VARCHAR
);
