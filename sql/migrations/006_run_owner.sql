-- distillguard store, version 6: which process a run belongs to, so that a run whose process
-- was killed (its row left `running`) is closed as `failed` by the next writer
-- (see Store.close_stale_runs in distillguard/store.py).
--
-- Every writable Store sets the session variables `dg_writer_pid` and `dg_writer_host` when it
-- opens the database, so any INSERT INTO runs from that connection records its owner without
-- naming these columns. A row written by another tool gets NULLs and is judged by its age only.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS pid INTEGER DEFAULT getvariable('dg_writer_pid');     -- operating-system process id of the writer
ALTER TABLE runs ADD COLUMN IF NOT EXISTS host VARCHAR DEFAULT getvariable('dg_writer_host');   -- host name of the writer (pids are per host)
