-- wrk script: POST a small Chat request whose text differs on every request (so a response
-- cache never hits: the miss-and-store path is what is measured).
local counter = 0
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  -- Distinct across threads and across runs (each wrk run starts its counter again).
  prefix = tostring(id) .. "-" .. tostring(os.time())
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-load"
local delay = os.getenv("DELAY_MS")
if delay and delay ~= "" then
  wrk.headers["x-mock-delay-ms"] = delay
end
request = function()
  counter = counter + 1
  local body = '{"model":"gpt-4o","messages":[{"role":"user","content":"hi ' .. prefix .. '-' .. counter .. '"}]}'
  return wrk.format(nil, nil, nil, body)
end
