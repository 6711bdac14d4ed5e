-- distillguard store, version 7: valid events live in the event lake (hive-partitioned Parquet,
-- distillguard/lake.py) and `events` becomes a view over it (sql/store/events_view.sql).
--
-- The lake's location is configuration (`lake.uri`), so the view is (re)created by the store when a
-- database is opened for writing (Store.open), which also moves the rows of an `events` table left
-- by an earlier version into the lake. This table records where the view points, so that read-only
-- sessions (analysts, snapshots) find the lake without the configuration.
CREATE TABLE IF NOT EXISTS event_lake (
    uri         VARCHAR NOT NULL,      -- the lake's root: a folder or an object-store URI
    pointed_at  TIMESTAMP NOT NULL     -- when the `events` view was last pointed at it
);
