-- POST /users with an email no other request uses.
local counter = 0
local tag = string.format("%x%x", os.time(), math.random(0, 0xffffff))
local thread_id = 0
setup = function(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end
request = function()
  counter = counter + 1
  local body = string.format('{"username":"bench","email":"w%s-%s-%d@bench.io"}', tid or 0, tag, counter)
  return wrk.format("POST", "/users", {["Content-Type"] = "application/json"}, body)
end
