-- sae.bench: what the benchmarks in bench/ share.
--
--   local bench = require "sae.bench"
--   bench.loadavg()            -- the 1-minute load average, as text ("?" if unknown)
--   bench.median{3, 1, 2}      -- 2
--   local peak, source = bench.dgemm_peak()   -- GFLOP/s, and where it came from
local core = require "sae.core"

local M = {}

function M.loadavg()
  local f = io.open("/proc/loadavg")
  if not f then return "?" end
  local s = f:read("l") or "?"
  f:close()
  return s:match("^(%S+)") or s
end

function M.median(t)
  local s = {}
  for i, x in ipairs(t) do s[i] = x end
  table.sort(s)
  local k = #s
  return k % 2 == 1 and s[(k + 1) // 2] or (s[k // 2] + s[k // 2 + 1]) / 2
end

-- The machine's dgemm peak in GFLOP/s: SAELAB_DGEMM_PEAK when set (make
-- bench passes bench/dgemm_peak's measurement on), else a quick estimate
-- through the Lua product (2000 x 2000, best of 3 after two warm-ups; each
-- product allocates its result, freed at once by <close>, so after the
-- first one malloc reuses the same pages; still a slight underestimate).
-- Returns the peak and a description of its source.
function M.dgemm_peak()
  local peak = tonumber(os.getenv("SAELAB_DGEMM_PEAK") or "")
  if peak then return peak, "bench/dgemm_peak (square n = 2000)" end
  local n = 2000
  local A, B = core.rand(n, n), core.rand(n, n)
  local best = math.huge
  for r = 1, 5 do
    local t0 = core.clock()
    do local C <close> = A * B end
    local t = core.clock() - t0
    if r > 2 and t < best then best = t end
  end
  return 2 * n ^ 3 / best / 1e9, "estimated here: best of 3 Lua products 2000 x 2000 (A * B)"
end

return M
