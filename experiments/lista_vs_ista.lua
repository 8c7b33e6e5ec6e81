--[[
# LISTA against ISTA and FISTA (Gregor & LeCun, ICML 2010, section 4)

Gregor & LeCun, "Learning Fast Approximations of Sparse Coding", ICML 2010.
The experiment of their Fig. 3 / Table 1, on MNIST digits: a dictionary D
(K atoms) is learned by sparse coding; the optimal codes Z* of the lasso

    E(z) = 1/2 ||x - z D||^2 + lambda ||z||_1

are computed with many FISTA iterations; then LISTA networks with T = 1, 2,
5, 10 iterations (the `lista` type with the soft threshold, started at ISTA
by `sae.models.lista_init`) are trained to predict Z* (squared error), and
the code prediction error ||z - z*||^2 (mean over test examples) is plotted
against the number of iterations for ISTA, FISTA (`sae.sparse_code`, the
one routine of saelab/sparse.h) and LISTA. The finding to check: LISTA with
T iterations matches ISTA / FISTA run for many times more iterations.
Digits are scaled to unit L2 norm, as in experiments/drsae_mnist.lua.
]]
local sae = require "sae"

local quick = sae.arg("quick", false)
local K = sae.arg("atoms", quick and 20 or 100)
local lambda = sae.arg("lambda", 0.1)
local n_train = sae.arg("train", quick and 300 or 5000)
local n_test = sae.arg("test", quick and 100 or 1000)
local dict_iters = sae.arg("dict_iterations", quick and 3 or 30)
local epochs = sae.arg("epochs", quick and 2 or 30)
local lr = sae.arg("lr", 0.05)
local TS = { 1, 2, 5, 10 }

local function unit_rows(M)
  local n = sae.model(M:cols()):add("l2norm", { name = "u" }):build()
  n:forward(M)
  return n:output("u"):copy()
end
local Xtr = unit_rows(sae.data.mnist("train", n_train))
local Xte = unit_rows(sae.data.mnist("test", n_test))

--[[
## The dictionary

Started from K random training digits; then `dict_iterations` alternations
of sparse coding (FISTA, 100 iterations) and a gradient step on D for the
reconstruction term, step 1/||Z^T Z||-ish (the largest squared code norm
times m), with the atoms renormalised to unit length.
]]
-- With checkpoint=PREFIX the learned dictionary is kept (sae.resume.phase) and
-- each LISTA network's training saves every epoch: a killed run started
-- again goes on with the same numbers.
local dict = sae.resume.phase("dictionary", {}, function()
  local D = unit_rows(Xtr:select((function()
    local p, s = sae.randperm(n_train), {}
    for i = 1, K do s[i] = p[i] end
    return s
  end)()))
  local errors = {}
  for it = 1, dict_iters do
    local Z = sae.sparse_code(D, Xtr, { lambda = lambda, max_iter = 100, tol = 0 })
    local R = Z * D - Xtr                  -- m x n residual
    local G = Z:t() * R                    -- K x n: the gradient of 1/2 ||X - Z D||^2
    local zz = math.max(1e-12, (Z:t() * Z):max())
    D = unit_rows(D - G:scale(1 / (zz * 1.0)))
    if it == dict_iters or it == 1 then
      errors[#errors + 1] = { it, 0.5 * (Z * D - Xtr):norm() ^ 2 / n_train }
    end
  end
  return { D = D:tobytes(), cols = D:cols(), errors = errors }
end)
local D = sae.matrix(K, dict.cols):frombytes(dict.D)
for _, e in ipairs(dict.errors) do
  print(string.format("dictionary iteration %d: reconstruction error %.5f", e[1], e[2]))
end

-- Optimal codes: FISTA to convergence.
local function optimal(X)
  local Z, info = sae.sparse_code(D, X, { lambda = lambda, max_iter = 5000, tol = 1e-9 })
  return Z, info
end
local Zs_tr, info_tr = optimal(Xtr)
local Zs_te = optimal(Xte)
print(string.format("optimal codes: FISTA stopped after %d iterations (train)", info_tr.iters))
local function code_error(Z, Zs) return (Z - Zs):norm() ^ 2 / Z:rows() end

--[[
## ISTA and FISTA against their iterations
]]
local ITERS = quick and { 1, 2, 5, 10, 20 } or { 1, 2, 5, 10, 20, 50, 100, 200, 500 }
local ista, fista = {}, {}
for i, k in ipairs(ITERS) do
  ista[i] = code_error(sae.sparse_code(D, Xte, { lambda = lambda, max_iter = k, tol = 0,
                                                 fista = false }), Zs_te)
  fista[i] = code_error(sae.sparse_code(D, Xte, { lambda = lambda, max_iter = k, tol = 0,
                                                  fista = true }), Zs_te)
end

--[[
## LISTA, trained to predict Z*

Each network starts at ISTA (so its error before training is ISTA's at T
iterations) and is trained by SGD with momentum 0.9 on the squared error to
Z*, batches of 50.
]]
local lista_err, lista_err0 = {}, {}
for i, T in ipairs(TS) do
  local net = sae.model(784)
  net:add("lista", { name = "enc", n_hid = K, T = T, shrink = 0 })
  net:add("squared_error")
  net:build()
  sae.models.lista_init(net, "enc", D, { lambda = lambda })
  net:forward(Xte, { target = Zs_te })
  lista_err0[i] = code_error(net:output("enc"), Zs_te)
  sae.train(net, Xtr, { target = Zs_tr, epochs = epochs, batch = 50, lr = lr, momentum = 0.9,
                        lr_scale = { ["enc.We"] = 1 / T, ["enc.b"] = 1 / T,
                                     ["enc.Sl"] = 1 / math.max(T - 1, 1) }, quiet = true,
                        checkpoint = sae.resume.path("lista-T" .. T),
                        signature = sae.resume.signature("lista-T" .. T) })
  net:forward(Xte, { target = Zs_te })
  lista_err[i] = code_error(net:output("enc"), Zs_te)
  print(string.format("LISTA T = %2d: code error %.5f (at ISTA's start %.5f)", T, lista_err[i],
                      lista_err0[i]))
end

-- How many ISTA / FISTA iterations LISTA's T matches: the first k whose error is at most LISTA's.
local function matches(curve, target)
  for i, k in ipairs(ITERS) do if curve[i] <= target then return tostring(k) end end
  return "> " .. ITERS[#ITERS]
end
local rows = {}
for i, T in ipairs(TS) do
  rows[i] = { T, string.format("%.5f", lista_err0[i]), string.format("%.5f", lista_err[i]),
              matches(ista, lista_err[i]), matches(fista, lista_err[i]) }
  sae.report.metric("lista_T" .. T .. "_code_error", lista_err[i])
end
sae.report.table {
  header = { "LISTA T", "error at ISTA start", "error trained", "ISTA iterations to match",
             "FISTA iterations to match" },
  caption = string.format("Code prediction error ||z - z*||^2 on %d test digits; K = %d, "
                          .. "lambda = %g, %d training digits, %d epochs", n_test, K, lambda,
                          n_train, epochs),
  rows = rows,
}
-- sae.plot.curve has a log y axis but no log x: x is drawn as log10(iterations).
local ix, lx = {}, {}
for i, k in ipairs(ITERS) do ix[i] = math.log(k, 10) end
for i, T in ipairs(TS) do lx[i] = math.log(T, 10) end
sae.plot.curve { file = "lista_vs_ista.png", xlabel = "log10(iterations)", ylabel = "||z - z*||^2",
                 logy = true,
                 series = { { x = ix, y = ista, title = "ISTA" }, { x = ix, y = fista, title = "FISTA" },
                            { x = lx, y = lista_err, title = "LISTA (trained)" } },
                 caption = "Code prediction error against iterations: ISTA, FISTA, LISTA" }
