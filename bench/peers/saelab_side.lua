--[[
# saelab's side of `make bench-peers` (bench/peers/run.sh runs it)

One workload per run, so that the driver can interleave saelab and its peers
(PyTorch, numpy, scipy: bench/peers/peers.py) round by round.  Each run

- builds the model with a fixed seed and writes its initial parameters (and,
  for the UFLDL shapes, the data) as raw little-endian doubles into `dump`,
  which the Python side reads: both start from the same numbers;
- prints the cost and gradient norm at that initial point
  (`check workload=... impl=saelab cost0=... gnorm0=...`);
- times the workload and prints `peer workload=... impl=saelab dtype=fp64
  seconds=... flop=...` (seconds: the best of the repeats in this run).

Arguments: `workload` (versions: one `machine` line; ksparse, ufldl64, ufldl784, lbfgs64), `dump` (a
directory), `m` (examples; default 60000 for ksparse, 10000 for the rest),
`epochs` (ksparse, default 2), `reps` (UFLDL evaluations, default 10),
`iters` (lbfgs64, default 400), `precision` (ksparse: 64, the default, or
32: the same epochs trained by `sae.train`'s float32 path, from the same
weights and shuffles; its line says dtype=fp32).
]]
local sae = require "sae"

local workload = sae.arg("workload", "ksparse")
local dump = sae.arg("dump", "")
if workload == "versions" then -- the driver's header line
  local v = sae.versions()
  -- the thread settings saelab's passes ran under (the saelab program sets
  -- passive waits, OpenBLAS's thread count and its threads' 2^4-cycle spin
  -- where the caller set nothing: src/main.c)
  print(string.format("machine saelab_cblas=%s openblas_core=%s saelab_blas_threads=%d "
                      .. "saelab_OMP_WAIT_POLICY=%s saelab_OMP_NUM_THREADS=%s "
                      .. "saelab_OPENBLAS_THREAD_TIMEOUT=%s",
                      (tostring(v.cblas):gsub("%s", "_")),
                      v.blas_core ~= "" and v.blas_core or "none", v.blas_threads or 0,
                      os.getenv("OMP_WAIT_POLICY") or "(unset)",
                      os.getenv("OMP_NUM_THREADS") or "(unset)",
                      os.getenv("OPENBLAS_THREAD_TIMEOUT") or "(unset)"))
  return
end
assert(dump ~= "", "dump=DIR is required")
local m = sae.arg("m", workload == "ksparse" and 60000 or 10000)
local epochs = sae.arg("epochs", 2)
local reps = sae.arg("reps", 10)
local iters = sae.arg("iters", 400)
local precision = sae.arg("precision", 64)
if precision ~= 64 and (precision ~= 32 or workload ~= "ksparse") then
  error("precision=" .. precision .. ": 64, or 32 for workload=ksparse", 0)
end
local dtype = precision == 32 and "fp32" or "fp64"

local function write(name, M)
  local f = assert(io.open(dump .. "/" .. name .. ".f64", "wb"))
  assert(f:write(M:tobytes()))
  assert(f:close())
end

local function line(kind, t)
  local parts = {kind}
  for _, k in ipairs{"workload", "impl", "dtype", "seconds", "flop", "gflops", "cost0", "gnorm0",
                     "epochs", "cost", "iters", "evals", "threads"} do
    if t[k] ~= nil then
      local v = t[k]
      parts[#parts + 1] = k .. "=" .. (type(v) == "number" and string.format("%.10g", v) or v)
    end
  end
  print(table.concat(parts, " "))
  io.stdout:flush()
end

local threads = sae.versions().blas_threads or 0

-- The UFLDL data: 784-196 on the first m MNIST training images; 64-25 on m
-- uniform (0.1, 0.9) "patches" (UFLDL squashes its whitened patches into that
-- range; the time of an evaluation does not depend on the values, and no
-- natural-image set is needed).  Written out, so the peers use the same rows.
local function ufldl_problem(n_in, n_hid)
  sae.seed(2385)
  local X
  if n_in == 784 then X = sae.data.mnist("train", m) else X = sae.rand(m, n_in, {a = 0.1, b = 0.9}) end
  local net = sae.models.ufldl_sparse_autoencoder{n_vis = n_in, n_hid = n_hid}
  local tag = "ufldl" .. n_in
  write(tag .. "_X", X)
  write(tag .. "_W1", net:param("W1", "W"))
  write(tag .. "_b1", net:param("W1", "b"))
  write(tag .. "_W2", net:param("W2", "W"))
  write(tag .. "_b2", net:param("W2", "b"))
  return net, X
end

if workload == "ksparse" then
  local n_hid, k, batch = 1000, 25, 128
  local X = sae.data.mnist("train", m)
  local n_in = X:cols()
  sae.seed(2385) -- bench/ksparse_epoch.lua's
  local net = sae.model(n_in)
  net:add("ksparse", {name = "ks", n_hid = n_hid, k = k, alpha = 3, init_scale = 0.01})
  net:add("squared_error", {name = "loss"})
  net:build()
  write("ks_W", net:param("ks", "W"))
  write("ks_b", net:param("ks", "b"))
  write("ks_b_dec", net:param("ks", "b_dec"))
  -- The check: TRAIN mode (k units kept, not alpha k) on the first 1000 rows.
  local c0 = net:eval(X:rowrange(1, math.min(m, 1000)))
  line("check", {workload = "ksparse", impl = "saelab", dtype = dtype, cost0 = c0,
                 gnorm0 = net:grad():norm()})
  local times, costs = {}, {}
  sae.seed(4711)
  local t_prev = sae.clock()
  sae.train(net, X, {epochs = epochs, batch = batch, lr = 0.01, momentum = 0.9, quiet = true,
                     precision = precision,
                     on_epoch = function(e, cost)
                       local t = sae.clock()
                       times[e], costs[e] = t - t_prev, cost
                       t_prev = sae.clock()
                     end})
  local best = math.min(table.unpack(times))
  local flop = 2 * m * n_in * n_hid + 8 * m * k * n_in
  line("peer", {workload = "ksparse", impl = "saelab", dtype = dtype, seconds = best, flop = flop,
                gflops = flop / best / 1e9, epochs = epochs, cost = costs[#costs],
                threads = threads})
elseif workload == "ufldl64" or workload == "ufldl784" then
  local n_in, n_hid = 64, 25
  if workload == "ufldl784" then n_in, n_hid = 784, 196 end
  local net, X = ufldl_problem(n_in, n_hid)
  local c0 = net:eval(X)
  line("check", {workload = workload, impl = "saelab", dtype = "fp64", cost0 = c0,
                 gnorm0 = net:grad():norm()})
  net:eval(X)
  local best = math.huge
  for _ = 1, reps do
    local t0 = sae.clock()
    net:eval(X)
    best = math.min(best, sae.clock() - t0)
  end
  local flop = 10 * m * n_in * n_hid
  line("peer", {workload = workload, impl = "saelab", dtype = "fp64", seconds = best, flop = flop,
                gflops = flop / best / 1e9, threads = threads})
elseif workload == "lbfgs64" then
  local net, X = ufldl_problem(64, 25)
  local t0 = sae.clock()
  local hist = sae.lbfgs(net, X, {max_iter = iters, verbose = false})
  local t = sae.clock() - t0
  line("peer", {workload = "lbfgs64", impl = "saelab", dtype = "fp64", seconds = t,
                iters = #hist.cost, evals = hist.n_evals, cost = hist.final_cost,
                threads = threads})
else
  error("workload must be ksparse, ufldl64, ufldl784 or lbfgs64, got " .. workload)
end
