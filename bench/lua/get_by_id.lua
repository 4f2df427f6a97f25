-- GET /users/{id} over the seeded ids, at random.
local max_id = tonumber(os.getenv("BENCH_USERS") or "10000")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/users/" .. math.random(1, max_id))
end
