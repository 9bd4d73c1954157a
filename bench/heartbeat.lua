-- wrk script for bench/heartbeat_bench.py.
--
-- BENCH_MODE=heartbeat: PATCH /v1/game/session/heartbeat, cycling over the sessions listed in
--   BENCH_IDS_FILE (one "gs_<uuid> <provider_user_id>" per line) with key BENCH_API_KEY.
--   BENCH_PATH (default that path) sends the same bodies elsewhere (bench/charge).
-- BENCH_MODE=signed: PATCH, one pre-signed launcher request per line of BENCH_IDS_FILE
--   ("path token key_id timestamp nonce signature", body "{}"), each sent once.
-- BENCH_MODE=bare: GET /bench/bare.
-- Every response's status is counted (and, for heartbeats, the result must be "OK"); done()
-- prints one "BENCH_RESULT {json}" line that the driver parses.

local mode = os.getenv("BENCH_MODE") or "heartbeat"
local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

function init(args)
  non2xx = 0
  not_ok = 0
  responses = 0
  statuses = {}
  reqs = {}
  if mode == "heartbeat" then
    local key = os.getenv("BENCH_API_KEY")
    local target = os.getenv("BENCH_PATH") or "/v1/game/session/heartbeat"
    local headers = { ["X-Api-Key"] = key, ["Content-Type"] = "application/json" }
    for line in io.lines(os.getenv("BENCH_IDS_FILE")) do
      local gs, user = line:match("^(%S+)%s+(%S+)$")
      if gs then
        local body = '{"game_session_id": "' .. gs .. '", "provider_user_id": "' .. user .. '"}'
        reqs[#reqs + 1] = wrk.format("PATCH", target, headers, body)
      end
    end
  elseif mode == "signed" then
    for line in io.lines(os.getenv("BENCH_IDS_FILE")) do
      local p, token, key, ts, nonce, sig =
        line:match("^(%S+)%s+(%S+)%s+(%S+)%s+(%S+)%s+(%S+)%s+(%S+)$")
      if p then
        local headers = {
          ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token,
          ["X-PW-Key"] = key, ["X-PW-Timestamp"] = ts, ["X-PW-Nonce"] = nonce,
          ["X-PW-Signature"] = sig,
        }
        reqs[#reqs + 1] = wrk.format("PATCH", p, headers, "{}")
      end
    end
  else
    reqs[1] = wrk.format("GET", "/bench/bare")
  end
  -- Threads start at different places of the cycle so they do not beat the same sessions.
  idx = math.floor(#reqs * thread_no / 16) % #reqs
end

function request()
  idx = idx % #reqs + 1
  return reqs[idx]
end

function response(status, headers, body)
  responses = responses + 1
  statuses[status] = (statuses[status] or 0) + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  elseif mode ~= "bare" and not string.find(body, '"result": "OK"', 1, true) then
    not_ok = not_ok + 1
  end
end

function done(summary, latency, requests)
  local total_non2xx, total_not_ok, total_responses = 0, 0, 0
  local merged = {}
  for _, t in ipairs(threads) do
    total_non2xx = total_non2xx + t:get("non2xx")
    total_not_ok = total_not_ok + t:get("not_ok")
    total_responses = total_responses + t:get("responses")
    for status, n in pairs(t:get("statuses")) do
      merged[status] = (merged[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(merged) do
    parts[#parts + 1] = string.format('"%d": %d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, '
      .. '"p99_us": %d, "max_us": %d, "responses": %d, "non2xx": %d, "not_ok": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}, '
      .. '"statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, total_responses, total_non2xx, total_not_ok,
    e.connect, e.read, e.write, e.timeout, e.status, table.concat(parts, ", ")))
end
