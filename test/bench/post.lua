-- test/bench/post.lua: wrk script of scripts/bench-ingest.
--
--   wrk -t1 -c64 -d5s -s test/bench/post.lua URL -- [TOKEN [BODYFILE]]
--
-- Every request is the same POST: Content-Type: application/json,
-- X-Webhook-Token: TOKEN (left out when TOKEN is empty or "-") and the
-- JSON object in BODYFILE, or a built-in one of 1024 bytes. No response()
-- is defined, so wrk does not parse the answers and stays fast; it still
-- counts statuses over 399 ("Non-2xx or 3xx responses"), and done()
-- warns about them and prints one line for the script to read:
--
--   bench-result requests=N duration_us=N rps=N p50_us=N p99_us=N
--       non2xx=N connect=N read=N write=N timeout=N
--
-- (on one line).

local function builtin_body()
	local head = '{"type":"order.created","id":"evt_bench_0001",' ..
	    '"created":"2024-01-01T00:00:00Z","data":{"customer":"cus_bench",' ..
	    '"amount":4200,"currency":"eur","note":"'
	local tail = '"}}'
	return head .. string.rep("x", 1024 - #head - #tail) .. tail
end

function init(args)
	local token = args[1]
	local file = args[2]
	local body

	if file ~= nil and file ~= "" then
		local f = assert(io.open(file, "rb"))
		body = f:read("*a")
		f:close()
	else
		body = builtin_body()
	end
	wrk.method = "POST"
	wrk.body = body
	wrk.headers["Content-Type"] = "application/json"
	if token ~= nil and token ~= "" and token ~= "-" then
		wrk.headers["X-Webhook-Token"] = token
	end
end

function done(summary, latency, requests)
	local e = summary.errors
	local secs = summary.duration / 1e6
	local rps = secs > 0 and summary.requests / secs or 0

	if e.status > 0 then
		io.write(string.format("WARNING: %d responses were not 2xx/3xx " ..
		    "(of %d)\n", e.status, summary.requests))
	end
	if e.connect + e.read + e.write + e.timeout > 0 then
		io.write(string.format("WARNING: socket errors: connect %d, " ..
		    "read %d, write %d, timeout %d\n", e.connect, e.read,
		    e.write, e.timeout))
	end
	io.write(string.format("bench-result requests=%d duration_us=%d " ..
	    "rps=%.1f p50_us=%d p99_us=%d non2xx=%d connect=%d read=%d " ..
	    "write=%d timeout=%d\n", summary.requests, summary.duration, rps,
	    latency:percentile(50), latency:percentile(99), e.status,
	    e.connect, e.read, e.write, e.timeout))
end
