-- Dead letters keep the raw record (which may hold a prompt): they follow the event retention.
DELETE FROM rejected_events WHERE rejected_at < $cutoff;
