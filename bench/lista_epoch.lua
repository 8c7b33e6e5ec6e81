--[[
# How long does one epoch of a 784-400^11 DrSAE encoder take?

Rolfe & LeCun's largest encoder (ICLR 2013): `lista` with n_hid = 400 and
T = 11, its linear decoder and the L1 term, trained by `sae.train` over
MNIST training images (50000 unless `m=` says fewer), batch 50 (`batch=`),
as experiments/drsae_mnist.lua pre-trains it.

**FLOPs per epoch** (m examples, n = 784, K = 400, T = 11; the first layer
needs no input gradient):

    lista forward   2 m n K + 2 (T-1) m K^2        (x We^T, then Z Sl^T per step)
    lista backward  2 m n K + 4 (T-1) m K^2        (grad We; grad Sl and D Sl per step)
    decoder         6 m K n                        (forward, grad W, dx)
    F = 10 m n K + 6 (T-1) m K^2                   (637 GFLOP for m = 50000)

The S products are K x K GEMMs over the batch: (m_b x K) (K x K), m_b = batch,
so their efficiency depends on the batch size (`batch=`).
Reported: seconds per epoch (best and median of `epochs`), F / seconds
against the machine's dgemm peak, and the peak resident memory.
]]
local sae = require "sae"
local bench = require "sae.bench"

local m = sae.arg("m", 50000)
local epochs = sae.arg("epochs", 3)
local batch = sae.arg("batch", 50)
local K, T = sae.arg("n_hid", 400), sae.arg("T", 11)

local v = sae.versions()
local load_before = bench.loadavg()
local peak, peak_source = bench.dgemm_peak()
local X = sae.data.mnist("train", m)
local n = X:cols()
local flops = 10 * m * n * K + 6 * (T - 1) * m * K * K

sae.seed(2385)
local net = sae.model(n)
net:add("lista", { name = "code", n_hid = K, T = T, max_norm = 1.25 / math.max(T - 1, 1) })
net:add("l1", { lambda = 0.01 })
net:add("dense", { name = "dec", n_out = n, bias = 0, max_norm = 1, norm_axis = 1 })
net:add("squared_error")
net:build()
net:param("code", "b"):fill(0) -- as experiments/drsae_mnist.lua starts it
local scale = { ["code.We"] = 1 / T, ["code.b"] = 1 / T, ["code.Sl"] = 1 / math.max(T - 1, 1) }

local times = {}
for e = 1, epochs do
  local t0 = sae.clock()
  sae.train(net, X, { epochs = 1, batch = batch, lr = 0.02, momentum = 0.9, quiet = true,
                        lr_scale = scale })
  times[e] = sae.clock() - t0
  print(string.format("epoch %d: %.2f s  (%.1f GFLOP/s)", e, times[e], flops / times[e] / 1e9))
end
local best = math.huge
for _, t in ipairs(times) do best = math.min(best, t) end
local med = bench.median(times)
sae.report.table {
  header = { "quantity", "value" },
  caption = string.format("784-%d^%d, m = %d, batch %d; CBLAS %s, OpenBLAS core %s; load before %s",
                          K, T, m, batch, tostring(v.cblas), tostring(v.blas_core), load_before),
  rows = { { "FLOPs per epoch", string.format("%.1f GFLOP", flops / 1e9) },
           { "seconds per epoch (best / median)", string.format("%.2f / %.2f", best, med) },
           { "GFLOP/s (best epoch)", string.format("%.1f", flops / best / 1e9) },
           { "dgemm peak", string.format("%.1f GFLOP/s (%s)", peak, peak_source) },
           { "fraction of peak", string.format("%.0f %%", 100 * flops / best / 1e9 / peak) },
           { "peak resident memory", string.format("%.0f MB", sae.maxrss() / 1e6) } },
}
sae.report.metric("seconds_per_epoch", best)
sae.report.metric("fraction_of_peak", flops / best / 1e9 / peak)
