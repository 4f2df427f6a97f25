-- GET /users?limit=100&after=ID from a random place in the seeded ids, so a
-- page costs the same wherever it starts (keyset, not OFFSET).
local max_id = tonumber(os.getenv("BENCH_USERS") or "10000")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/users?limit=100&after=" .. math.random(0, math.max(max_id - 100, 0)))
end
