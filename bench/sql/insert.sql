-- The service's statement; the colons are quoted in the to_char format because
-- pgbench would read :MI and :SS as variables (same output).
\set n random(1, 9000000000000000000)
INSERT INTO users (username, email) VALUES ('bench', 'pg-' || :client_id || '-' || :n || '@bench.io') RETURNING id, username, email, active, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS"Z"');
