-- GET /auth/status with a valid bearer token (signature check, then one
-- statement: the user's row and whether the token's session is open).
local headers = {["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")}
request = function()
  return wrk.format("GET", "/auth/status", headers)
end
