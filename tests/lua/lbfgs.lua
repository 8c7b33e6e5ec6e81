-- tests/lua/lbfgs.lua -- sae.lbfgs from Lua: an autoencoder with the KL
-- sparsity penalty, softmax regression with labels, the history table, the
-- options and the errors.
local sae = require "sae"

local function close(a, b, tol)
  return math.abs(a - b) <= tol * math.max(1, math.abs(a), math.abs(b))
end

-- A small sparse autoencoder, trained full batch (UFLDL's exercise in miniature).
local X = sae.rand(40, 8)
local net = sae.model(8)
  :add("dense", { name = "enc", n_out = 5 }):add("sigmoid", { name = "code" })
  :add("kl", { rho = 0.1, beta = 3 })
  :add("dense", { n_out = 8 }):add("sigmoid"):add("squared_error")
  :add("l2", { lambda = 1e-4 }):build()
local c0 = net:eval(X)
local h = sae.lbfgs(net, X, { max_iter = 60, verbose = false })
assert(type(h.status) == "string" and #h.status > 0)
local n = #h.iter
assert(n >= 1 and n <= 60, "iterations: " .. n)
for _, key in ipairs { "cost", "gnorm", "step", "evals", "seconds" } do
  assert(#h[key] == n, key .. " has " .. #h[key] .. " entries, iter " .. n)
end
for k = 1, n do
  assert(h.iter[k] == k and h.evals[k] >= k + 1)
  if k > 1 then assert(h.cost[k] <= h.cost[k - 1] and h.seconds[k] >= h.seconds[k - 1]) end
end
assert(h.n_evals >= h.evals[n] and h.total_seconds >= 0)
assert(close(h.initial_cost, c0, 1e-12), string.format("initial %g, eval %g", h.initial_cost, c0))
assert(h.final_cost == h.cost[n] and h.final_cost < 0.5 * c0,
       string.format("cost %g -> %g (%s)", c0, h.final_cost, h.status))
assert(close(net:eval(X), h.final_cost, 1e-12), "theta is not the last iterate")

-- The mean activation of the code approaches rho once beta dominates.
local sparse = sae.model(8)
  :add("dense", { name = "enc", n_out = 5 }):add("sigmoid", { name = "code" })
  :add("kl", { rho = 0.1, beta = 50 })
  :add("dense", { n_out = 8 }):add("sigmoid"):add("squared_error"):build()
sae.lbfgs(sparse, X, { max_iter = 200, verbose = false })
local mean = sparse:encode(X, "code"):mean()
assert(math.abs(mean - 0.1) < 0.02, "mean activation " .. mean)

-- Softmax regression: labels are 1-based; max_iter is respected.
local P = sae.rand(30, 2)
local labels = {}
for i = 1, 30 do
  labels[i] = (i - 1) % 3 + 1
  local cx, cy = ({ 3, -3, 0 })[labels[i]], ({ 0, 0, 3 })[labels[i]]
  P:set(i, 1, cx + P:get(i, 1) - 0.5)
  P:set(i, 2, cy + P:get(i, 2) - 0.5)
end
local clf = sae.model(2):add("dense", { n_out = 3 }):add("softmax"):build()
local hs = sae.lbfgs(clf, P, { labels = labels, max_iter = 5, epsilon = 0, verbose = false })
assert(#hs.cost == 5 and hs.status == "max iterations reached", hs.status)
assert(hs.final_cost < hs.initial_cost)
hs = sae.lbfgs(clf, P, { labels = labels, m = 10, past = 3, delta = 1e-4, verbose = false })
assert(hs.final_cost < 0.05, "softmax cost " .. hs.final_cost .. " (" .. hs.status .. ")")

-- Errors: each names its cause.
local function fails(pattern, f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "no error; expected " .. pattern)
  assert(tostring(err):find(pattern), "error '" .. tostring(err) .. "' lacks " .. pattern)
end
fails("unknown option 'maxiter'", sae.lbfgs, net, X, { maxiter = 5 })
fails("max_iter must be a whole number", sae.lbfgs, net, X, { max_iter = 2.5 })
fails("m = 0 must be >= 1", sae.lbfgs, net, X, { m = 0 })
fails("needs labels", sae.lbfgs, clf, P, { verbose = false })
local bad = {}
for i = 1, 30 do bad[i] = 1 end
bad[4] = 4
fails("example 4 has class 4, but the node has K = 3", sae.lbfgs, clf, P, { labels = bad })
fails("not built", sae.lbfgs, sae.model(2):add("dense", { n_out = 1 }), P)
-- KL without a sigmoid before it: rho_hat leaves (0,1).
local nokl = sae.model(8):add("dense", { n_out = 4 }):add("kl")
  :add("dense", { n_out = 8 }):add("squared_error"):build()
nokl:param(1, "b"):fill(10)
fails("kl: rho_hat_1 = [%d.]+ is outside %(0,1%): put a sigmoid before kl", sae.lbfgs, nokl, X)
print("ok")
