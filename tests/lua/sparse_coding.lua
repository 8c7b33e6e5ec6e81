-- tests/lua/sparse_coding.lua -- UFLDL's sparse coding as a model
-- (plugins/sparse_coding.c): code -> group -> atoms -> squared_error.  L-BFGS
-- moves only the codes Z; atoms' update() puts the minimiser over A in place
-- (the cost's derivative in every entry of A is 0 there); a batch larger than
-- Z, and an update without codes of full rank at gamma = 0, are refused.
local sae = require "sae"

local expect = require "expect"
local raises, near = expect.raises, expect.near

sae.seed(2385)
local m, K, n = 12, 5, 7
local net = sae.model(n)
net:add("code", { name = "s", n_out = K, m = m })
net:add("group", { name = "grp", size = 1, tile = 1, width = K, lambda = 0.05, eps = 1e-5 })
net:add("atoms", { name = "A", n_out = n, gamma = 1e-2 })
net:add("squared_error")
net:build()
local X = sae.rand(m, n, { a = -1, b = 1 })

-- L-BFGS over the model: Z moves, A (NOGRAD) does not
local A0 = net:param("A", "A"):copy()
local Z0 = net:param("s", "Z"):copy()
local h = sae.lbfgs(net, X, { max_iter = 15, verbose = false })
assert(h.final_cost < h.initial_cost, "codes optimised")
assert(net:param("A", "A"):equal(A0, 0), "A left alone by L-BFGS")
assert(not net:param("s", "Z"):equal(Z0, 1e-6), "Z moved")

-- update(): A = (Z^T Z + gamma m I)^-1 Z^T X, the zero of dJ/dA
local n_upd = net:update(X, 0)
assert(n_upd == 1)
local A = net:param("A", "A")
local J = net:cost(X)
for _, e in ipairs { { 1, 1 }, { 3, 5 }, { 5, 7 } } do
  local i, j, v, d = e[1], e[2], A:get(e[1], e[2]), 1e-5
  A:set(i, j, v + d)
  local up = net:cost(X)
  A:set(i, j, v - d)
  local down = net:cost(X)
  A:set(i, j, v)
  near((up - down) / (2 * d), 0, 1e-8, string.format("dJ/dA[%d,%d] after the closed form", i, j))
  assert(up >= J and down >= J, "A is a minimum")
end

-- a batch of fewer rows uses Z's first rows; more rows are refused
net:forward(X:rowrange(1, 4))
assert(net:output("s"):equal(net:param("s", "Z"):rowrange(1, 4)))
raises("code: a batch of 13 rows, Z holds 12 (hyper-parameter m)", net.cost, net,
       sae.rand(13, n))
-- gamma = 0 with more atoms than codes: Z^T Z is singular
local bad = sae.model(n):add("code", { n_out = K, m = 3 }):add("atoms", { name = "A", n_out = n, gamma = 0 })
  :add("squared_error"):build()
raises("is not positive definite", bad.update, bad, sae.rand(3, n), 0)
