-- Move the write-ahead log into the database file and reclaim the space of deleted rows.
CHECKPOINT;
