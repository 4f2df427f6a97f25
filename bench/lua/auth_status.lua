-- GET /auth/status with a valid bearer token (signature check + revocation
-- lookup + the user's row).
local headers = {["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")}
request = function()
  return wrk.format("GET", "/auth/status", headers)
end
