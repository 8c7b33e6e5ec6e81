--[[
# How fast is one cost + gradient evaluation of the UFLDL sparse autoencoder?

UFLDL's sparse autoencoder exercise trains 64-25-64 on 10000 natural-image
patches of 8 x 8, and its MNIST follow-up 784-196-784 on 10000 digits, each
with 400 iterations of L-BFGS over the full batch.  L-BFGS asks for about
1.1 cost + gradient evaluations per iteration, so the time of one
evaluation, `net:eval(X)`, decides the training time.

**The data here is random**, uniform in (0.1, 0.9) (the range UFLDL's
patches are squashed into): the time of an evaluation does not depend on
the values, so this is enough for timing, and no data set is needed.

The model: `dense, sigmoid, [kl,] dense, sigmoid, squared_error, l2` (the
KL sparsity penalty is included when the registry has a type `kl`).

**FLOPs per evaluation.**  The three-line count is that of the matrix
products, with m examples, n_in inputs and n_hid hidden units:
forward 2 layers x 2 m n_in n_hid; backward twice that (each layer needs
dW = dy^T x and dx = dy W, W a row per unit), minus the first layer's dx,
which nobody needs and saelab skips:

    F = 4 m n_in n_hid + 8 m n_in n_hid - 2 m n_in n_hid = 10 m n_in n_hid

The elementwise work (sigmoids, loss, penalty, biases) is O(m (n_in +
n_hid)) and is left out of F: it is what a GFLOP/s below the dgemm peak
mostly pays for.
]]
local sae = require "sae"
local bench = require "sae.bench"

local reps = sae.arg("reps", 20)    -- timed evaluations per shape
local m = sae.arg("m", 10000)       -- examples
local target = sae.arg("target", 60) -- seconds for 400 iterations of 784-196 (the issue's goal)
local iters = 400
local evals_per_iter = 1.1

-- ---- the machine ---------------------------------------------------------------

local v = sae.versions()
local loadavg = bench.loadavg
local coretype = os.getenv("OPENBLAS_CORETYPE")
if coretype == "" then coretype = nil end
sae.report.text(string.format(
  "CBLAS `%s`, OpenBLAS core %s, %d threads; OPENBLAS_CORETYPE=%s.  Load average "
  .. "before: %s (other work on the cores makes the numbers noisy: the best "
  .. "evaluation counts, the median is shown too).",
  tostring(v.cblas), v.blas_core ~= "" and v.blas_core or "(not OpenBLAS)",
  v.blas_threads or 0, coretype or "(unset)", loadavg()))

-- The dgemm peak (sae.bench: bench/dgemm_peak's, else estimated here).
local peak, peak_source = bench.dgemm_peak()
sae.report.metric("dgemm_peak_gflops", peak)

-- ---- the models ------------------------------------------------------------------

local have = {}
for _, t in ipairs(sae.types()) do have[t.name] = true end
local use_kl = have.kl
if not use_kl then
  sae.report.text("The KL sparsity penalty (type `kl`) is not in the registry: the "
                  .. "models below run without it (its cost is elementwise, O(m n_hid)).")
end

local function build(n_in, n_hid)
  local net = sae.model(n_in)
  net:add("dense", {n_out = n_hid, name = "enc"})
  net:add("sigmoid", {name = "code"})
  if use_kl then net:add("kl", {name = "kl"}) end -- its defaults (UFLDL: rho 0.01, beta 3)
  net:add("dense", {n_out = n_in, name = "dec"})
  net:add("sigmoid", {name = "out"})
  net:add("squared_error")
  net:add("l2", {lambda = 1e-4})
  return net:build()
end

local median = bench.median

local rows, results = {}, {}
for _, shape in ipairs{{64, 25, "64-25"}, {784, 196, "784-196"}} do
  local n_in, n_hid, name = shape[1], shape[2], shape[3]
  local net = build(n_in, n_hid)
  local X = sae.rand(m, n_in, {a = 0.1, b = 0.9})
  -- Warm-up: the first evaluation allocates the per-node buffers (outputs and
  -- output gradients, m x n_out each) and touches their pages for the first
  -- time; its extra time is the first-touch cost, paid once per model.
  local t0 = sae.clock()
  net:eval(X)
  local first = sae.clock() - t0
  net:eval(X)
  local times = {}
  for r = 1, reps do
    local t0 = sae.clock()
    net:eval(X)
    times[r] = sae.clock() - t0
  end
  local best = math.min(table.unpack(times))
  local flops = 10 * m * n_in * n_hid
  local gflops = flops / best / 1e9
  local projected = iters * evals_per_iter * best
  results[name] = {best = best, gflops = gflops, projected = projected}
  rows[#rows + 1] = {name, best, median(times), first, flops / 1e9, gflops, gflops / peak,
                     projected}
  sae.report.metric("seconds_per_eval_" .. name, best)
  sae.report.metric("gflops_" .. name, gflops)
  sae.report.metric("fraction_of_peak_" .. name, gflops / peak)
  sae.report.metric("projected_400_iterations_s_" .. name, projected)
end

sae.report.table{
  caption = string.format("One cost + gradient evaluation, m = %d, %s; best and median "
                          .. "of %d after 2 warm-ups; dgemm peak %.1f GFLOP/s (%s)", m,
                          use_kl and "with KL" or "without KL", reps, peak, peak_source),
  header = {"shape", "s/eval (best)", "s/eval (median)", "1st eval (s)", "GFLOP/eval", "GFLOP/s",
            "fraction of peak", "400 iterations (s)"},
  rows = rows, fmt = "%.4g"}

local r = results["784-196"]
sae.report.text(string.format(
  "**784-196 projection:** 400 L-BFGS iterations x %.1f evaluations x %.3f s = "
  .. "**%.0f s** against the target of %g s: %s.  Load average after: %s.",
  evals_per_iter, r.best, r.projected, target,
  r.projected <= target and "within it" or string.format("%.1fx over", r.projected / target),
  loadavg()))
