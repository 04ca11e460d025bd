-- wrk script: POST the file named by the BODY environment variable as JSON, with its first
-- "@@ID@@" replaced by an id distinct on every request, so that each request opens a
-- conversation of its own (nothing the proxy remembers of one request applies to the next).
local f = assert(io.open(os.getenv("BODY"), "rb"))
local template = f:read("*a")
f:close()
local counter = 0
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
function init(args)
  prefix = tostring(id) .. "-" .. tostring(os.time())
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-load"
local delay = os.getenv("DELAY_MS")
if delay and delay ~= "" then
  wrk.headers["x-mock-delay-ms"] = delay
end
local at = assert(template:find("@@ID@@", 1, true))
local head, tail = template:sub(1, at - 1), template:sub(at + 6)
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, head .. prefix .. "-" .. counter .. tail)
end
