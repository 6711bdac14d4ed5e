-- Account metadata from the registered frame `incoming_accounts`: a later record replaces the earlier.
INSERT OR REPLACE INTO accounts BY NAME
SELECT account_id, CAST(created_at AS TIMESTAMP) AS created_at, tier, email_domain,
       payment_fingerprint, signup_ip, country, now()::TIMESTAMP AS updated_at
FROM incoming_accounts;
