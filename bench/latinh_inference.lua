-- bench/latinh_inference.lua -- codes per second of lateral-inhibition
-- inference (saelab/sparse.h's FISTA, non-negative codes, S folded into the
-- Gram matrix) for K = 256 atoms on 8x8 patches, against the same loop in
-- numpy (bench/latinh_inference.py) on the same D, S, X and step, measured
-- in the same run.  A fixed number of iterations (tol = 0), so both do the
-- same work; the numpy codes must equal saelab's (printed).
--
--   saelab run bench/latinh_inference.lua [m=1000 K=256 iters=200 reps=3
--                                          python=/usr/bin/python3]
-- Never a test: the machine's speed is not one.
local sae = require "sae"
local bench = require "sae.bench"

local m = sae.arg("m", 1000)
local K = sae.arg("K", 256)
local iters = sae.arg("iters", 200)
local reps = sae.arg("reps", 3)
local lambda = sae.arg("lambda", 0.1)
local python = sae.arg("python", "/usr/bin/python3")
local n = 64
-- the numpy twin sits beside this script
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."

-- data: whitened patches when images are found, else Gaussian (the speed
-- does not depend on it much; the iteration count is fixed)
local ok, images = pcall(sae.data.natural_images, {})
local X
if ok then
  X = sae.data.patches(images, 8, m)
  X:scale(1 / (X:norm() / math.sqrt(m)))
else
  X = sae.rand(m, n, { dist = "normal" }):scale(1 / math.sqrt(n))
end
local D = sae.rand(K, n, { dist = "normal" })
for i = 1, K do local r = D:row(i); r:scale(1 / r:norm()) end
-- the experiment's tree S at its strength (a forest 16 x 3 x 4 when K = 256)
local S = K == 256 and sae.latinh.tree_S(sae.latinh.tree_parents { 16, 3, 4 }, { strength = 0.05 })
  or sae.zeros(K, K)

local function time_saelab(withS)
  local best, Z, info = math.huge, nil, nil
  for _ = 1, reps do
    local t0 = sae.clock()
    Z, info = sae.sparse_code(D, X, { lambda = lambda, nonneg = true, S = withS and S or nil,
                                      max_iter = iters, tol = 0 })
    best = math.min(best, sae.clock() - t0)
  end
  return best, Z, info
end

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))
local function write(name, A) -- checked and whole (a short file would mislead the comparison)
  assert(sae.write_file(dir .. "/" .. name, A:tobytes()))
end

print(string.format("lateral inhibition inference: m = %d patches of 8x8, K = %d atoms, %d FISTA "
                    .. "iterations, load %s", m, K, iters, bench.loadavg()))
print(string.format("%-22s %10s %14s %12s", "", "seconds", "codes/s", "max |dZ|"))
for _, withS in ipairs { false, true } do
  local t, Z, info = time_saelab(withS)
  write("X", X); write("D", D); write("S", withS and S or sae.zeros(K, K)); write("Z", Z)
  local label = withS and "S = tree" or "S = 0"
  print(string.format("%-22s %10.4f %14.1f %12s   (L0 %.1f)", "saelab " .. label, t, m / t, "-",
                      Z:map("abs"):threshold(0):sum() / m))
  local cmd = string.format("%s %s/latinh_inference.py %s %d %d %d %d %.17g %.17g %d", python,
                            here, dir, m, n, K, iters, lambda, info.eta, reps)
  local p = io.popen(cmd)
  local line = p and p:read("l")
  if p then p:close() end
  local _, secs, cps, dz = (line or ""):match("^(numpy) (%S+) (%S+) (%S+)")
  if secs then
    print(string.format("%-22s %10.4f %14.1f %12s   (saelab %.2fx as fast)", "numpy " .. label,
                        tonumber(secs), tonumber(cps), dz, tonumber(secs) / t))
  else
    print("numpy " .. label .. ": not run (" .. cmd .. " gave: " .. tostring(line) .. ")")
  end
end
os.execute("rm -rf " .. dir)
