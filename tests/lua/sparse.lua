-- tests/lua/sparse.lua -- sae.sparse_code and sae.ista_matrices: the closed
-- form where there is one, warm starts, inhibition, and every refusal.
local sae = require "sae"
local expect = require "expect"

-- An orthonormal dictionary (a rotation): the lasso's solution is the shrunk
-- projection, z = h_lambda(x D^T), reached by ISTA in one step of 1/L = 1.
local c, s = math.cos(0.7), math.sin(0.7)
local D = sae.matrix { { c, s }, { -s, c } }
local X = sae.matrix { { 1.2, 0.1 }, { 0.3, -0.9 }, { 0.05, 0.02 } }
local lambda = 0.2385
for _, nonneg in ipairs { false, true } do
  local Z, info = sae.sparse_code(D, X, { lambda = lambda, nonneg = nonneg, tol = 1e-15 })
  expect.near(info.eta, 1 / 1.01, 1e-9, "eta = 1/L with the 1 % margin")
  for i = 1, 3 do
    for j = 1, 2 do
      local p = X:get(i, 1) * D:get(j, 1) + X:get(i, 2) * D:get(j, 2)
      local want = math.max(math.abs(p) - lambda, 0) * (p < 0 and -1 or 1)
      if nonneg then want = math.max(p - lambda, 0) end
      expect.near(Z:get(i, j), want, 1e-12, string.format("z[%d][%d] nonneg=%s", i, j, nonneg))
    end
  end
end

-- An overcomplete dictionary: FISTA and ISTA agree on the minimum's energy;
-- a warm start from it stops at once; the energy is the one reported.
local Dr = sae.rand(12, 6, { dist = "normal" })
local Xr = sae.rand(5, 6, { dist = "normal" })
local Zf, f = sae.sparse_code(Dr, Xr, { lambda = 0.3, tol = 1e-13, max_iter = 100000 })
local Zi, i = sae.sparse_code(Dr, Xr, { lambda = 0.3, tol = 1e-13, max_iter = 100000, fista = false })
expect.near(f.energy, i.energy, 1e-9 * f.energy, "FISTA and ISTA energies")
local Zw, w = sae.sparse_code(Dr, Xr, { lambda = 0.3, tol = 1e-9, Z = Zf })
assert(Zw == Zf, "the warm-start matrix receives the result")
assert(w.iters == 1, "a warm start from the minimum stops after one step, took " .. w.iters)
local _, one = sae.sparse_code(Dr, Xr, { lambda = 0.3, max_iter = 3, tol = 0 })
assert(one.iters == 3 and one.energy > f.energy, "three steps are not the minimum")

-- Inhibition between the two atoms that both explain x: they stop co-firing.
local Dn = sae.matrix { { 1, 0 }, { 0.8, 0.6 } }
local Xn = sae.matrix { { 1, 0.3 } }
local Z0 = sae.sparse_code(Dn, Xn, { lambda = 0.01, nonneg = true, tol = 1e-14, max_iter = 100000 })
local S = sae.matrix { { 0, 2 }, { 2, 0 } }
local Z1 = sae.sparse_code(Dn, Xn, { lambda = 0.01, nonneg = true, S = S, tol = 1e-14,
                                     max_iter = 100000 })
assert(Z0:get(1, 1) > 0 and Z0:get(1, 2) > 0, "without S both atoms are used")
assert(Z1:get(1, 1) * Z1:get(1, 2) < 0.2 * Z0:get(1, 1) * Z0:get(1, 2), "with S they co-activate far less")

-- LISTA's start: one step of h(x We^T + z Sl^T) from z = 0 is ISTA's first step.
local Z2, info2 = sae.sparse_code(Dr, Xr, { lambda = 0.3, nonneg = true, max_iter = 1, tol = 0,
                                           fista = false })
local We, Sl = sae.ista_matrices(Dr, info2.eta)
assert(We:rows() == 12 and We:cols() == 6 and Sl:rows() == 12 and Sl:cols() == 12)
local U = Xr * We:t()
for r = 1, 5 do
  for k = 1, 12 do
    expect.near(Z2:get(r, k), math.max(U:get(r, k) - info2.eta * 0.3, 0), 1e-12, "one LISTA step")
  end
end

-- Refusals, each naming what is wrong.
expect.raises("sae.sparse_code: unknown option 'lamda'", sae.sparse_code, D, X, { lamda = 1 })
expect.raises("X is 3 x 2, D 12 x 6", sae.sparse_code, Dr, X)
expect.raises("S is 2 x 2, expected 12 x 12", sae.sparse_code, Dr, Xr, { S = S })
expect.raises("S must be symmetric, non-negative, with a zero diagonal", sae.sparse_code, Dn, Xn,
              { S = sae.matrix { { 0, -1 }, { -1, 0 } } })
expect.raises("S must be symmetric", sae.sparse_code, Dn, Xn, { S = sae.matrix { { 1, 0 }, { 0, 0 } } })
expect.raises("Z is 2 x 2, expected 3 x 2", sae.sparse_code, D, X, { Z = sae.matrix(2, 2) })
expect.raises("lambda = -1 must be >= 0", sae.sparse_code, D, X, { lambda = -1 })
expect.raises("max_iter = 0.0 must be a whole number >= 1", sae.sparse_code, D, X, { max_iter = 0 })
expect.raises("is above 1/L", sae.sparse_code, Dr, Xr, { eta = 1 / (f.eta * 0.4) })
expect.raises("eta = -1.0 must be > 0", sae.ista_matrices, D, -1)
