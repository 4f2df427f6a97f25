-- A keyset page of 100 (GET /users?limit=100&after=ID) from a random place in
-- the table: the service's columns, the primary key's order. The colons are
-- quoted in the to_char format because pgbench would read :MI and :SS as
-- variables (same output). run.sh passes -D max_id=N.
\set after random(0, :max_id - 100)
SELECT id, username, email, active, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS"Z"') FROM users WHERE id > :after ORDER BY id LIMIT 100;
