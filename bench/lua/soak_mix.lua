-- Mixed load for the soak: reads, pings, the page and unique POSTs; counts
-- every status so the soak can check that nothing failed and nothing was lost.
local threads = {}
local next_id = 0
setup = function(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

counter, created, failed = 0, 0, 0  -- globals: done() reads them with thread:get
-- Unique across runs too (the warm-up and the main run share nothing).
local run_tag = os.getenv("SOAK_RUN") or tostring(os.time())
local seeded = tonumber(os.getenv("SOAK_SEEDED") or "100")
request = function()
  counter = counter + 1
  local pick = counter % 10
  if pick < 2 then
    local body = string.format('{"username":"soak","email":"soak-%s-%d-%d@bench.io"}', run_tag, tid, counter)
    return wrk.format("POST", "/users", {["Content-Type"] = "application/json"}, body)
  elseif pick < 6 then
    return wrk.format("GET", "/users/" .. math.random(1, seeded))
  elseif pick < 8 then
    return wrk.format("GET", "/ping")
  elseif pick < 9 then
    return wrk.format("GET", "/health/ready")
  else
    return wrk.format("GET", "/users/" .. math.random(1, seeded))
  end
end

response = function(status, headers, body)
  if status == 201 then created = created + 1 end
  if status >= 300 then failed = failed + 1 end
end

done = function(summary, latency, requests)
  local total_created, total_failed = 0, 0
  for _, thread in ipairs(threads) do
    total_created = total_created + thread:get("created")
    total_failed = total_failed + thread:get("failed")
  end
  local errors = summary.errors
  io.write(string.format('{"requests":%d,"created":%d,"failed":%d,"socket_errors":%d}\n',
    summary.requests, total_created, total_failed,
    errors.connect + errors.read + errors.write + errors.timeout))
end
