-- sae.models: the models the reproductions share, built from plugin types.
local core = require "sae.core"
local report = require "sae.report"
local caller = require "sae.caller"

local M = {}

-- The UFLDL sparse autoencoder (Ng, CS294A notes, 2011):
--   dense W1 -> sigmoid "code" -> kl(rho, beta) -> dense W2 -> sigmoid "out"
--   -> squared_error, with the l2 regularizer (lambda) on the weights only.
-- Nodes are named W1, code, W2 and out; returns the built model.
-- o: n_vis, n_hid (required), rho, beta, lambda; an unknown key is an error.
function M.ufldl_sparse_autoencoder(o)
  local fname = "sae.models.ufldl_sparse_autoencoder"
  o = caller.options(o, fname, { "n_vis", "n_hid", "rho", "beta", "lambda" })
  local net = core.model(caller.check(o.n_vis, fname .. ": n_vis is required"))
  net:add("dense", { n_out = caller.check(o.n_hid, fname .. ": n_hid is required"), name = "W1" })
  net:add("sigmoid", { name = "code" })
  net:add("kl", { rho = o.rho or 0.01, beta = o.beta or 3 })
  net:add("dense", { n_out = o.n_vis, name = "W2" })
  net:add("sigmoid", { name = "out" })
  net:add("squared_error")
  net:add("l2", { lambda = o.lambda or 1e-4 })
  return net:build()
end

-- Train a UFLDL sparse autoencoder (from ufldl_sparse_autoencoder) on X by
-- full-batch L-BFGS and report it: the cost curve (cost.png), a "Training"
-- table and the metrics final_cost, iterations, evaluations, mean_rho_hat,
-- seconds_per_eval and train_seconds.  o: max_iter, rho (for the table),
-- title (the figure's), checkpoint and signature (sae.lbfgs's; saved every
-- 20 iterations: a state is about 2m + 3 copies of the parameters).  Returns the L-BFGS history and the mean activation
-- of each hidden unit over X (a 1 x n_hid matrix).
function M.train_sparse_autoencoder(net, X, o)
  o = caller.options(o, "sae.models.train_sparse_autoencoder",
                     { "max_iter", "rho", "title", "checkpoint", "signature" })
  local hist = require("sae.trainer").lbfgs(net, X, { max_iter = o.max_iter, checkpoint = o.checkpoint,
                                                     checkpoint_every = 20, signature = o.signature })
  local per_eval = hist.total_seconds / hist.n_evals
  report.plot.curve {
    file = "cost.png", series = { { x = hist.iter, y = hist.cost, title = "J(W,b)" } },
    title = o.title, xlabel = "iteration", ylabel = "cost", logy = true,
    caption = "Cost per L-BFGS iteration.",
  }
  net:forward(X)
  local rho_hat = net:output("code"):colmean()
  local n_vis, n_hid = X:cols(), rho_hat:cols()
  -- The matrix products of one cost + gradient: forward 2 layers x 2 m n_vis
  -- n_hid, backward twice that, less the first layer's unused input gradient.
  local gflop = 10 * X:rows() * n_vis * n_hid / 1e9
  report.table {
    caption = "Training",
    header = { "iterations", "evaluations", "final cost", "mean rho_hat", "rho",
               "s per cost+gradient", "GFLOP/s in products", "total s", "status" },
    rows = { { #hist.cost, hist.n_evals, string.format("%.5f", hist.final_cost),
               string.format("%.4f", rho_hat:mean()), o.rho, string.format("%.4f", per_eval),
               string.format("%.1f", gflop / per_eval), string.format("%.1f", hist.total_seconds),
               hist.status } },
  }
  report.metric("final_cost", hist.final_cost)
  report.metric("iterations", #hist.cost)
  report.metric("evaluations", hist.n_evals)
  report.metric("mean_rho_hat", rho_hat:mean())
  report.metric("seconds_per_eval", per_eval)
  report.metric("train_seconds", hist.total_seconds)
  return hist, rho_hat
end

-- The k-sparse autoencoder (Makhzani & Frey, ICLR 2014): one fused `ksparse`
-- node "ks" (linear encoder, top-k, tied decoder) and the squared error.
-- o: n_vis, n_hid, k, alpha, init_scale (paper: 0.01), tied (default 1),
-- mean (squared_error's; default 1: the error averaged over the batch).
-- An unknown key is an error.
function M.ksparse_autoencoder(o)
  local fname = "sae.models.ksparse_autoencoder"
  o = caller.options(o, fname, { "n_vis", "n_hid", "k", "alpha", "init_scale", "tied", "mean" })
  local net = core.model(caller.check(o.n_vis, fname .. ": n_vis is required"))
  net:add("ksparse", { name = "ks", n_hid = caller.check(o.n_hid, fname .. ": n_hid is required"),
                       k = caller.check(o.k, fname .. ": k is required"), alpha = o.alpha or 1,
                       init_scale = o.init_scale or 0.01, tied = o.tied or 1 })
  net:add("squared_error", { mean = o.mean or 1 })
  return net:build()
end

-- The paper's k schedule: k0 at the first epoch, falling linearly to k at
-- epoch ceil(epochs / 2), then held.  Returns function(epoch) -> k.
function M.k_schedule(k0, k, epochs)
  local last = math.max(1, math.ceil(epochs / 2))
  k0 = math.max(k0, k)
  return function(epoch)
    if epoch >= last or last == 1 then return k end
    return math.floor(k0 + (k - k0) * (epoch - 1) / (last - 1) + 0.5)
  end
end

-- The sparse encoder of a trained `ksparse` node as its own model, for
-- features: dense (z = x W^T + b, with the node's n_hid x n_in W as it is)
-- then topk keeping floor(alpha k) units in EVAL mode (Algorithm 1, "sparse
-- encoding").  The parameters are copied, so the encoder is a snapshot of
-- net at this call.  Encode with enc:encode(X, "code").
function M.ksparse_encoder(net, node, alpha)
  local W = net:param(node, "W")
  local n_hid, n_vis = W:rows(), W:cols()
  local enc = core.model(n_vis)
  enc:add("dense", { name = "enc", n_out = n_hid })
  enc:add("topk", { name = "code", k = net:get(node, "k"), alpha = alpha })
  enc:build()
  enc:param("enc", "W"):copy(W)
  enc:param("enc", "b"):copy(net:param(node, "b"))
  return enc
end

-- Dead units: the entries of a 1 x n_hid row that are exactly 0 (a
-- `ksparse` node's `usage` over an epoch, or a code's mean |activation|).
function M.dead_units(row)
  local dead = 0
  for j = 1, row:cols() do
    if row:get(1, j) == 0 then dead = dead + 1 end
  end
  return dead
end

-- An explicit grouping for a `group` node built with groups = G (n_groups):
-- groups is an array of n_groups groups, each an array of unit numbers
-- (1..n, any overlap), with optional weights (>= 0, default 1) as
-- `weights = {...}` beside them: { {1, 2, 3}, {3, 4, weights = {1, 0.5}} }.
-- Writes the node's G (n_groups x n); returns G.  Errors name the group.
function M.set_groups(net, node, groups)
  local fname = "sae.models.set_groups"
  caller.check(type(groups) == "table", fname .. ": groups must be an array of arrays of units")
  local G = net:param(node, "G")
  local n_groups, n = G:rows(), G:cols()
  caller.check(#groups == n_groups, string.format(
    "%s: %d groups given, node %s holds %d (its hyper-parameter groups)", fname, #groups,
    tostring(node), n_groups))
  G:fill(0)
  for g, units in ipairs(groups) do
    caller.check(type(units) == "table", string.format("%s: group %d is not an array", fname, g))
    local w = units.weights
    caller.check(w == nil or (type(w) == "table" and #w == #units), string.format(
      "%s: group %d: weights must be an array as long as its units (%d)", fname, g, #units))
    for k, j in ipairs(units) do
      caller.check(math.type(j) == "integer" and j >= 1 and j <= n, string.format(
        "%s: group %d names unit %s, outside 1..%d", fname, g, tostring(j), n))
      local wj = w and w[k] or 1
      caller.check(type(wj) == "number" and wj >= 0, string.format(
        "%s: group %d: weight %s of unit %d must be a number >= 0", fname, g, tostring(wj), j))
      G:set(g, j, G:get(g, j) + wj)
    end
  end
  return G
end

-- lista_init(net, node, D [, {lambda = 0.1, eta = 1/L}]): a `lista` node
-- started at ISTA on the dictionary D (K x n, atoms as rows; Gregor & LeCun
-- 2010, eq. 3): We = eta D, Sl = I - eta D D^T, b = eta lambda, so its T
-- iterations are T steps of ISTA from z = 0.  eta defaults to 1/L, L the
-- largest eigenvalue of D D^T, as sae.sparse_code takes it (one routine,
-- saelab/sparse.h).  Returns eta.  D's shape must be the node's n_hid x n_in.
function M.lista_init(net, node, D, o)
  local fname = "sae.models.lista_init"
  o = caller.options(o, fname, { "lambda", "eta" })
  caller.check(core.ismatrix(D), fname .. ": D must be a matrix (K x n, atoms as rows)")
  local We = caller.call(net.param, net, node, "We")
  if D:rows() ~= We:rows() or D:cols() ~= We:cols() then
    caller.error(string.format("%s: D is %d x %d, but node %s's dictionary is n_hid x n_in = %d x %d",
                               fname, D:rows(), D:cols(), node, We:rows(), We:cols()))
  end
  local lambda = o.lambda or 0.1
  if type(lambda) ~= "number" or not (lambda >= 0) then
    caller.error(fname .. ": lambda must be a number >= 0, got " .. tostring(lambda))
  end
  local eta = o.eta
  if eta == nil then -- 1/L from the one sparse-coding routine, on one zero row
    local _, info = caller.call(core.sparse_code, D, core.zeros(1, D:cols()), { max_iter = 1 })
    eta = info.eta
  end
  local W, S = caller.call(core.ista_matrices, D, eta)
  We:copy(W)
  net:param(node, "Sl"):copy(S)
  net:param(node, "b"):fill(eta * lambda)
  return eta
end

return M
