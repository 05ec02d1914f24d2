-- mix.lua: wrk's script for the load and soak runs (bench/loadmix.py): a
-- mix of what the web front serves, through Nginx.
--
--   wrk -s bench/mix.lua URL -- SYNC_MAX_N [DELAY_MS]
--
-- Each request is drawn at random (weights out of 1000).  A value's path
-- has one cache entry in Nginx, whatever query string follows it, so what
-- must reach the app and the database every time asks for something new:
--   400 memo hits: /api/v1/fib/<5000..5999> (memoized by the caller
--       beforehand), through the app the first time, then from Nginx's cache
--   200 Nginx cache hits: /api/v1/fib/<100..119>, always the same paths
--   150 inline values (below pg_fib.memo_min_n), likewise
--    90 /about of any bigint n and /mod of random n and m: new each time
--    50 the old stack's routes (/calculate_v2/<n>), never cached
--   109 bad input, 400: decimals, exponents, hex, '+', non-ASCII digits
--     1 a huge n just above SYNC_MAX_N, new each time: queued, 202
-- DELAY_MS (soak) makes each connection wait that long between requests.
-- done() prints one JSON line: requests, status counts, socket errors and
-- latency percentiles in microseconds.

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

local sync_max_n, delay_ms
-- A global: done() reads each thread's with thread:get("statuses").
statuses = {}

function init(args)
   sync_max_n = tonumber(args[1] or "3000000")
   delay_ms = tonumber(args[2] or "0")
   math.randomseed(os.time() * 1000 + id)
end

local bad = { "/api/v1/fib/1.5", "/api/v1/fib/1e5", "/api/v1/fib/0x1F", "/api/v1/fib/+5",
              "/api/v1/fib/%D9%A1%D9%A2", "/api/v1/fib/%EF%BC%91", "/api/v1/fib/%20",
              "/api/v1/fib/99999999999999999999", "/api/v1/fib/5/mod/abc", "/calculate/x" }

local function path()
   local r = math.random(1000)
   if r <= 400 then
      return "/api/v1/fib/" .. math.random(5000, 5999)
   elseif r <= 600 then
      return "/api/v1/fib/" .. math.random(100, 119)
   elseif r <= 750 then
      return "/api/v1/fib/" .. math.random(200, 4999)
   elseif r <= 795 then
      local sign = math.random(2) == 1 and "-" or ""
      return "/api/v1/fib/" .. sign .. math.random(1, 922337203) .. math.random(100000000, 999999999)
         .. "/about"
   elseif r <= 840 then
      return "/api/v1/fib/" .. math.random(0, 2 ^ 31) .. "/mod/" .. math.random(1, 2 ^ 31)
   elseif r <= 890 then
      return "/calculate_v2/" .. math.random(0, 4999)
   elseif r <= 999 then
      return bad[math.random(#bad)]
   else
      return "/api/v1/fib/" .. (sync_max_n + math.random(1000, 2000000))
   end
end

function request()
   return wrk.format("GET", path())
end

function delay()
   return delay_ms
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local total = {}
   for _, thread in ipairs(threads) do
      local counts = thread:get("statuses")
      for status, count in pairs(counts) do
         total[tostring(status)] = (total[tostring(status)] or 0) + count
      end
   end
   local parts = {}
   for status, count in pairs(total) do
      table.insert(parts, string.format('"%s": %d', status, count))
   end
   local e = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "statuses": {%s}, ' ..
      '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
      '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
      summary.requests, summary.duration, table.concat(parts, ", "),
      e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
