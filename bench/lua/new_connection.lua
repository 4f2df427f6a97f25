-- A plain GET that closes its connection: every request is a new connection,
-- so the row measures accepting (one loop woken per connection, not every loop).
wrk.headers["Connection"] = "close"
