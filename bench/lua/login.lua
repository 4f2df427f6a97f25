-- POST /auth/login with the bench admin's right password (a successful login
-- never meets the failed-login limit): one Argon2id verification a request.
local body = string.format('{"email":"bench-admin@bench.io","password":"%s"}', os.getenv("BENCH_PASSWORD"))
request = function()
  return wrk.format("POST", "/auth/login", {["Content-Type"] = "application/json"}, body)
end
