-- The flagging bar refitted by the calibrate flow on clean traffic (newest row wins).
CREATE TABLE IF NOT EXISTS calibration (
    calibrated_at   TIMESTAMP NOT NULL,
    clean_accounts  BIGINT,
    clean_median    DOUBLE,
    clean_p999      DOUBLE,
    confirmed       BIGINT,
    dismissed       BIGINT,
    flag_bar        DOUBLE NOT NULL
);
