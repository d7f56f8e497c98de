-- wrk script: one endpoint's requests, shaped by the arguments after "--".
--
--   method=POST              request method (default GET)
--   path=/g/{code}/join      request path (default: the URL's)
--   body=phone={phone}&...   request body (default none)
--   codes=a,b,c              what {code} takes, one after another
--   phone=137                first digits of {phone}, a mobile number made from {n}
--   offset=1000              the first request's number {n}, so that runs on the
--                            same data never send the same number twice
--   pace=12.5                mean milliseconds a connection waits before each
--                            request (default: none, as fast as answers come)
--
-- Headers come from wrk's -H options; {n}, {phone} and {code} are filled per
-- request (benchmarks/load.py's fill() does the same). At the end one line
-- "result {...}" gives, as JSON, the requests answered and sent, latency
-- percentiles, wrk's error counts and how many answers had each status.

local method, path, body = "GET", nil, nil
local codes, prefix, offset = {}, "137", 0
local threads = {}

-- Read by done() through thread:get: requests sent, and answers by status.
sent = 0
tally = {}

local function split(text)
   local parts = {}
   for part in string.gmatch(text, "[^,]+") do
      table.insert(parts, part)
   end
   return parts
end

local function fill(template, n)
   return (string.gsub(template, "{(%a+)}", function(name)
      if name == "n" then
         return tostring(n)
      elseif name == "phone" then
         return prefix .. string.format("%08d", n % 100000000)
      elseif name == "code" then
         return codes[n % #codes + 1]
      end
   end))
end

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   for _, arg in ipairs(args) do
      local key, value = string.match(arg, "^(%a+)=(.*)$")
      if key == "method" then
         method = value
      elseif key == "path" then
         path = value
      elseif key == "body" then
         body = value
      elseif key == "codes" then
         codes = split(value)
      elseif key == "phone" then
         prefix = value
      elseif key == "offset" then
         offset = tonumber(value)
      elseif key == "pace" then
         local mean = tonumber(value)
         -- Spread around the mean, so that connections do not move in step.
         delay = function()
            return mean * (0.5 + math.random())
         end
      else
         error("unknown argument: " .. arg)
      end
   end
   math.randomseed(offset)
end

function request()
   local n = offset + sent
   sent = sent + 1
   return wrk.format(method, path and fill(path, n), nil, body and fill(body, n))
end

function response(status, headers, content)
   tally[status] = (tally[status] or 0) + 1
end

function done(summary, latency, requests)
   local sent_total, totals = 0, {}
   for _, thread in ipairs(threads) do
      sent_total = sent_total + thread:get("sent")
      for status, count in pairs(thread:get("tally")) do
         totals[status] = (totals[status] or 0) + count
      end
   end
   local counts = {}
   for status, count in pairs(totals) do
      table.insert(counts, string.format('"%d": %d', status, count))
   end
   local errors = summary.errors
   io.write(string.format(
      'result {"requests": %d, "sent": %d, "seconds": %.6f, "p50_us": %d, '
         .. '"p99_us": %d, "max_us": %d, "errors": {"connect": %d, "read": %d, '
         .. '"write": %d, "timeout": %d, "status": %d}, "statuses": {%s}}\n',
      summary.requests, sent_total, summary.duration / 1e6,
      latency:percentile(50), latency:percentile(99), latency.max,
      errors.connect, errors.read, errors.write, errors.timeout, errors.status,
      table.concat(counts, ", ")
   ))
end
