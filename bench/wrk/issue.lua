-- issue.lua -- wrk script: POST /v1/coupons/<COUPON>/issues with a user id
-- unique per request across all wrk threads (thread i uses ids
-- BASE + i, BASE + i + T, ...). COUPON and BASE come from the environment
-- (WRK_COUPON, WRK_USER_BASE). At the end prints a status-code histogram,
-- so "accepted/s" can be computed from the 202 count.
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  thread:set("nthreads", 0)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  coupon = os.getenv("WRK_COUPON") or "1"
  base = tonumber(os.getenv("WRK_USER_BASE") or "1")
  step = tonumber(os.getenv("WRK_THREADS") or "1")
  n = 0
  codes = {}
  path = "/v1/coupons/" .. coupon .. "/issues"
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  local uid = base + id + n * step
  n = n + 1
  return wrk.format("POST", path, headers, '{"user_id":' .. uid .. '}')
end

function response(status, hdrs, body)
  codes[status] = (codes[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local c = t:get("codes")
    for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
  end
  local keys = {}
  for k in pairs(total) do table.insert(keys, k) end
  table.sort(keys)
  for _, k in ipairs(keys) do
    io.write(string.format("status %d: %d (%.0f/s)\n", k, total[k],
      total[k] / (summary.duration / 1e6)))
  end
  io.write(string.format("latency p50 %.2f ms p99 %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
