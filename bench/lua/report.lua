-- Appended to every wrk script: one JSON line with what the table needs.
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"p50_ms":%.3f,"p99_ms":%.3f,' ..
    '"socket_errors":%d,"non_2xx":%d}\n',
    summary.requests, summary.duration,
    latency:percentile(50) / 1000.0, latency:percentile(99) / 1000.0,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status))
end
