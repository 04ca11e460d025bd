-- wrk script: POST the file named by the BODY environment variable as JSON.
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-load"
-- DELAY_MS makes the mock upstream answer after that long, as a real provider would.
local delay = os.getenv("DELAY_MS")
if delay and delay ~= "" then
  wrk.headers["x-mock-delay-ms"] = delay
end
