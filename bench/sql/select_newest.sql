-- The index page's newest 50 (GET /): the service's columns, newest first by
-- the primary key. The colons are quoted in the to_char format because pgbench
-- would read :MI and :SS as variables (same output).
SELECT id, username, email, active, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS"Z"') FROM users ORDER BY id DESC LIMIT 50;
