-- cycle.lua: wrk's script for bench/web.sh: every request asks for the next
-- n of a range, PREFIX .. n, so that a variant measures many rows (memo
-- rows, cache entries) rather than one.
--
--   wrk -s bench/cycle.lua URL -- PREFIX LO HI
--
-- Each thread starts at its own point of LO..HI and walks it in steps of
-- 1 (wrapping).  Headers given to wrk with -H are sent with every request.
-- done() prints one JSON line: requests, duration_us, errors (connect,
-- read, write, timeout; status: answers other than 2xx and 3xx) and the
-- latency percentiles p50, p90, p99 in microseconds.

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

local prefix, lo, span, i

function init(args)
   prefix = args[1]
   lo = tonumber(args[2])
   span = tonumber(args[3]) - lo + 1
   -- Threads start apart, so that they do not ask for the same n at once.
   i = ((id - 1) * 7919) % span
end

function request()
   local path = prefix .. (lo + i)
   i = (i + 1) % span
   return wrk.format(nil, path)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "errors": {"connect": %d, "read": %d, ' ..
      '"write": %d, "timeout": %d, "status": %d}, ' ..
      '"p50_us": %d, "p90_us": %d, "p99_us": %d}\n',
      summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
      latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
