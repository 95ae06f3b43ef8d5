-- pgbench script: one upsert of a 3-byte value per transaction (so one commit each), one
-- key per client (:client_id).  The PostgreSQL side of `make bench-wal`; pg-pair.sh
-- creates the table kv.
INSERT INTO kv (k, v) VALUES ('key:' || :client_id, 'xxx') ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v;
