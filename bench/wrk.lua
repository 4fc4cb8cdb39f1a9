-- wrk script of `npm run bench` (bench/wrk.ts). Posts the requests prepared in the file named by
-- BENCH_WRK_REQUESTS (one per line: signature, a tab, the body in hex), each thread cycling over
-- its own share, so no two threads send the same request; prints one JSON line when done.
local file = os.getenv("BENCH_WRK_REQUESTS")
local threadCount = tonumber(os.getenv("BENCH_WRK_THREADS"))
local threads = {}

function setup(thread)
  thread:set("share", #threads)
  table.insert(threads, thread)
end

local requests = {}
local nextIndex = 1
sent = 0
wrapped = 0

local function fromHex(hex)
  return (hex:gsub("..", function(pair) return string.char(tonumber(pair, 16)) end))
end

function init(args)
  local line = 0
  for text in io.lines(file) do
    if line % threadCount == share then
      local tab = text:find("\t", 1, true)
      local body = fromHex(text:sub(tab + 1))
      requests[#requests + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["X-Sqreen-Integrity"] = text:sub(1, tab - 1),
      }, body)
    end
    line = line + 1
  end
end

function request()
  local prepared = requests[nextIndex]
  sent = sent + 1
  nextIndex = nextIndex + 1
  if nextIndex > #requests then
    nextIndex = 1
    wrapped = wrapped + 1
  end
  return prepared
end

function done(summary, latency, requests)
  local wraps = 0
  for _, thread in ipairs(threads) do wraps = wraps + thread:get("wrapped") end
  io.write(string.format(
    '\nBENCH_WRK {"durationUs":%d,"requests":%d,"non2xx":%d,"socketErrors":%d,"timeouts":%d,"p50Us":%d,"p99Us":%d,"maxUs":%d,"wrapped":%d}\n',
    summary.duration, summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, wraps))
end
