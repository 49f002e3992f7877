-- wrk script: POST bodies with fresh messageIds, count 200s, print a JSON summary.
-- args: path, messages per request (1: a single message, N: a batch), run id, sentAt, message format,
-- sessions per thread (bench/messages.py builds the format; its two %s are the anonymousId and the messageId).

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  path, per_request, run, sent_at, format = args[1], tonumber(args[2]), args[3], args[4], args[5]
  sessions = tonumber(args[6])
  counter, ok, other = 0, 0, 0
end

local function one(n)
  local prefix = run .. "-" .. tid
  return string.format(format, "anon-" .. prefix .. "-" .. (n % sessions), prefix .. "-" .. n)
end

function request()
  local body
  if per_request == 1 then
    body = one(counter)
  else
    local parts, first = {}, counter * per_request
    for n = first, first + per_request - 1 do
      parts[#parts + 1] = one(n)
    end
    body = '{"sentAt":"' .. sent_at .. '","batch":[' .. table.concat(parts, ",") .. ']}'
  end
  counter = counter + 1
  return wrk.format("POST", path, nil, body)
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local ok_total, other_total = 0, 0
  for _, thread in ipairs(threads) do
    ok_total = ok_total + thread:get("ok")
    other_total = other_total + thread:get("other")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us":%d,"requests":%d,"ok":%d,"non_200":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d,"latency_p50_us":%d,"latency_p99_us":%d,' ..
    '"latency_max_us":%d}\n',
    summary.duration, summary.requests, ok_total, other_total, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
