-- The service's statement; the colons are quoted in the to_char format because
-- pgbench would read :MI and :SS as variables (same output). run.sh passes
-- -D max_id=N (the seeded ids are 1..N).
\set id random(1, :max_id)
SELECT id, username, email, active, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS"Z"') FROM users WHERE id = :id;
