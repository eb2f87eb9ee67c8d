-- wrk script of hostca's peer benchmark (bench/peers.sh): a closed loop of
-- POSTs whose bodies were made beforehand, one body per request, used once.
--
-- Run with as many threads as connections (-t C -c C), so that each thread
-- has one connection and one request in flight: each request's latency is
-- then timed here exactly, from request() to response(), with no
-- correction (wrk's own histogram adds synthetic samples for coordinated
-- omission, which hostca-bench does not). Thread k sends the bodies of
-- $HOSTCA_WRK_BODIES.k (one JSON body a line) to $HOSTCA_WRK_PATH and stops
-- after the answer to its last one. An answer counts as a certificate when
-- its status is 200 or 201 and its body holds $HOSTCA_WRK_EXPECT. done()
-- writes the figures as JSON to $HOSTCA_WRK_OUT.
--
-- With $HOSTCA_WRK_CONNECTIONS_PER_THREAD above 1 (-t N -c C, wrk's usual
-- few threads), only the throughput and wrk's CPU are measured: the
-- connections of a thread share its request() and response(), so a
-- latency cannot be told to its request. A connection that finds no body
-- left is parked by delay() until the thread stops.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } hostca_timespec;
int clock_gettime(int clock, hostca_timespec *ts);
]]
local CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID = 1, 3
local ts = ffi.new("hostca_timespec")
local function clock(which)
  ffi.C.clock_gettime(which, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- Main state: the threads, numbered in the order wrk makes them.
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

-- Thread state.
local requests = {}
sent, answered = 0, 0
local expect, probe
started, finished, cpu_start, cpu_end = nil, nil, nil, nil
ok, failed, latencies = 0, 0, {}
local sent_at = 0
local shared = tonumber(os.getenv("HOSTCA_WRK_CONNECTIONS_PER_THREAD") or "1") > 1
if shared then
  -- wrk asks delay() before each request of a connection and calls
  -- request() on a later turn of its loop, after other connections may
  -- have asked too: a body is reserved here, so that no more requests
  -- start than there are bodies.
  local reserved = 0
  function delay()
    if reserved < #requests then
      reserved = reserved + 1
      return 0
    end
    return 3600000
  end
end

function init(args)
  local path = os.getenv("HOSTCA_WRK_PATH")
  expect = os.getenv("HOSTCA_WRK_EXPECT")
  local file = os.getenv("HOSTCA_WRK_BODIES") .. "." .. id
  local headers = {["Content-Type"] = "application/json"}
  for line in io.lines(file) do
    if #line > 0 then requests[#requests + 1] = wrk.format("POST", path, headers, line) end
  end
  -- wrk calls request() once in thread 0 to check that it parses, before
  -- any connection: that call must not use up a body.
  probe = (id == 0)
end

function request()
  if probe then
    probe = false
    return requests[1]
  end
  sent = sent + 1
  sent_at = clock(CLOCK_MONOTONIC)
  if not started then
    started = sent_at
    cpu_start = clock(CLOCK_THREAD_CPUTIME_ID)
  end
  if sent > #requests then
    -- Only after a socket error lost a request in flight (wrk reconnects
    -- and asks again): its body is sent again, and its answer counted as
    -- whatever the server makes of a replay.
    return requests[#requests]
  end
  return requests[sent]
end

function response(status, headers, body)
  local now = clock(CLOCK_MONOTONIC)
  answered = answered + 1
  if not shared then latencies[answered] = (now - sent_at) * 1000 end
  if (status == 200 or status == 201) and body:find(expect, 1, true) then
    ok = ok + 1
  else
    failed = failed + 1
    if failed <= 3 then io.stderr:write("wrk: HTTP " .. status .. ": " .. body:sub(1, 200) .. "\n") end
  end
  if answered >= #requests or (sent >= #requests and answered >= sent) then
    finished = now
    cpu_end = clock(CLOCK_THREAD_CPUTIME_ID)
    wrk.thread:stop()
  end
end

local function percentile(sorted, p)
  if #sorted == 0 then return 0 end
  local rank = math.ceil(p / 100 * #sorted - 1e-9)
  if rank < 1 then rank = 1 end
  if rank > #sorted then rank = #sorted end
  return sorted[rank]
end

function done(summary, latency, requests_stats)
  local all, okays, fails, cpu, first, last, answers = {}, 0, 0, 0, nil, nil, 0
  local unfinished = 0
  for _, t in ipairs(threads) do
    local lat = t:get("latencies") or {}
    for _, v in pairs(lat) do all[#all + 1] = v end
    answers = answers + (t:get("answered") or 0)
    okays = okays + (t:get("ok") or 0)
    fails = fails + (t:get("failed") or 0)
    local s, f = t:get("started"), t:get("finished")
    local c0, c1 = t:get("cpu_start"), t:get("cpu_end")
    if s and (not first or s < first) then first = s end
    if f and (not last or f > last) then last = f end
    if not f then unfinished = unfinished + 1 end
    if c0 and c1 then cpu = cpu + (c1 - c0) end
  end
  if unfinished > 0 then cpu = -1 end  -- a thread's CPU clock was not read at its end
  table.sort(all)
  local seconds = (first and last) and (last - first) or 0
  local e = summary.errors
  local out = string.format(
    '{"calls": %d, "latencies": %d, "ok": %d, "failed": %d, "seconds": %.6f, "p50_ms": %.3f, "p90_ms": %.3f, ' ..
    '"p99_ms": %.3f, "max_ms": %.3f, "thread_cpu_seconds": %.6f, "threads_unfinished": %d, ' ..
    '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, "status_errors": %d}\n',
    answers, #all, okays, fails, seconds, percentile(all, 50), percentile(all, 90), percentile(all, 99),
    all[#all] or 0, cpu, unfinished, e.connect, e.read, e.write, e.timeout, e.status)
  local f = assert(io.open(os.getenv("HOSTCA_WRK_OUT"), "w"))
  f:write(out)
  f:close()
end
