-- The `events` relation over the event lake (distillguard/lake.py): every event_id once.
--
-- {source} is the lake's rows (read_parquet of its files for the stored view; an Arrow dataset of
-- them in an analyst session) and {columns} the events columns in order. Writers drop the
-- repeats they can see, so repeats are rare (two writers writing one event at the same moment, a
-- compaction between writing its file and deleting the old ones): the ids seen more than once are
-- found by their 64-bit hash (cheap to group), and of each only the copy written first is shown
-- (earliest ingested_at, then file name; a file holds an event_id once).
SELECT {columns}
FROM {source}
WHERE (event_id, lake_file) NOT IN (
    SELECT (event_id, lake_file)
    FROM {source}
    WHERE hash(event_id) IN (SELECT hash(event_id) AS h FROM {source} GROUP BY h HAVING count(*) > 1)
    QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingested_at, lake_file) > 1
)
