-- sae.latinh: inhibition matrices S for the latinh type (lateral inhibition,
-- Gregor, Szlam & LeCun, NIPS 2011) and the numbers that test them.
--
-- S is K x K, symmetric, non-negative, zero diagonal: S_ij > 0 makes units
-- i and j costly together (E gains 2 S_ij |z_i| |z_j|), S_ij = 0 leaves them
-- free to co-activate.  The builders give S = strength on the inhibited pairs
-- and 0 on the free ones; set_S puts one into a built model after checking it.
local core = require "sae.core"
local caller = require "sae.caller"

local M = {}

local function whole(v, lo, hi)
  return type(v) == "number" and v == math.floor(v) and v >= lo and v <= hi
end

-- Parent array of a complete forest, breadth first: levels = {r, b1, b2, ...}
-- gives r roots, each unit of level k has b_k children.  parent[i] = 0 for a
-- root, else the 1-based index of its parent.  {16, 3, 4}: 16 + 48 + 192 = 256.
function M.tree_parents(levels)
  local fname = "sae.latinh.tree_parents"
  caller.check(type(levels) == "table" and #levels >= 1,
               fname .. ": levels must be an array {roots, children per node, ...}")
  for k, b in ipairs(levels) do
    caller.check(whole(b, 1, 1e6) and b >= 1,
                 string.format("%s: levels[%d] = %s must be a whole number >= 1", fname, k,
                               tostring(b)))
  end
  local parent, first, count = {}, 1, levels[1]
  for _ = 1, levels[1] do parent[#parent + 1] = 0 end
  for k = 2, #levels do
    for p = first, first + count - 1 do
      for _ = 1, levels[k] do parent[#parent + 1] = p end
    end
    first, count = first + count, count * levels[k]
  end
  return parent
end

-- Each unit's path to its root (a set, itself included); raises if parent is
-- not a forest: an entry that is not a unit index or 0, a unit its own parent,
-- a cycle.
local function paths(parent, fname)
  caller.check(type(parent) == "table" and #parent >= 1,
               fname .. ": parent must be a non-empty array (parent[i] = 0 for a root)")
  local K = #parent
  for i = 1, K do
    local p = parent[i]
    caller.check(whole(p, 0, K),
                 string.format("%s: parent[%d] = %s is not a unit index in 1..%d or 0 (a root): "
                               .. "not a tree", fname, i, tostring(p), K))
    caller.check(p ~= i, string.format("%s: parent[%d] = %d, its own parent: not a tree",
                                       fname, i, i))
  end
  local path = {}
  for i = 1, K do
    local seen, u, steps = { [i] = true }, math.tointeger(parent[i]), 0
    while u ~= 0 do
      steps = steps + 1
      caller.check(not seen[u] and steps <= K, string.format(
        "%s: unit %d's path to the root comes back to unit %d (a cycle): not a tree", fname, i, u))
      seen[u] = true
      u = math.tointeger(parent[u])
    end
    path[i] = seen
  end
  return path
end

-- Tree-structured S (the lecture's figure): units are the nodes of a forest
-- given as a parent array; unit i inhibits every unit not on its own path to
-- the root (its ancestors and descendants are free, everything else,
-- siblings and other trees included, is inhibited).  opts.strength (1).
function M.tree_S(parent, opts)
  local fname = "sae.latinh.tree_S"
  opts = caller.options(opts, fname, { "strength" })
  local strength = opts.strength or 1
  caller.check(type(strength) == "number" and strength >= 0 and strength < math.huge,
               fname .. ": strength must be a finite number >= 0")
  local path = paths(parent, fname)
  local K = #parent
  local S = core.matrix(K, K)
  for i = 1, K do
    for j = 1, K do
      if i ~= j and not path[i][j] and not path[j][i] then S:set(i, j, strength) end
    end
  end
  return S
end

-- 2-D locally connected S: the K = rows * cols units on a grid (unit
-- (r - 1) * cols + c at row r, column c); no inhibition within a
-- neighbourhood (Chebyshev distance <= radius), inhibition outside.
-- opts.radius (1), opts.strength (1), opts.wrap (false: a torus when true).
function M.grid_S(rows, cols, opts)
  local fname = "sae.latinh.grid_S"
  opts = caller.options(opts, fname, { "radius", "strength", "wrap" })
  caller.check(whole(rows, 1, 1e4) and whole(cols, 1, 1e4) and rows >= 1 and cols >= 1,
               fname .. ": rows and cols must be whole numbers >= 1")
  local radius, strength = opts.radius or 1, opts.strength or 1
  caller.check(type(radius) == "number" and radius >= 0, fname .. ": radius must be >= 0")
  caller.check(type(strength) == "number" and strength >= 0 and strength < math.huge,
               fname .. ": strength must be a finite number >= 0")
  local K = rows * cols
  local S = core.matrix(K, K)
  local function dist(a, b, n)
    local d = math.abs(a - b)
    return opts.wrap and math.min(d, n - d) or d
  end
  for i = 1, K do
    local ri, ci = (i - 1) // cols, (i - 1) % cols
    for j = 1, K do
      local rj, cj = (j - 1) // cols, (j - 1) % cols
      if math.max(dist(ri, rj, rows), dist(ci, cj, cols)) > radius then S:set(i, j, strength) end
    end
  end
  return S
end

-- Put S into node's S of a built model (a latinh node), after checking it:
-- the node's K x K shape, finite, non-negative, symmetric, zero diagonal.
-- Returns net.
function M.set_S(net, node, S)
  local fname = "sae.latinh.set_S"
  caller.check(core.ismatrix(S), fname .. ": S must be a matrix")
  local P = caller.call(net.param, net, node, "S")
  local K = P:rows()
  caller.check(S:rows() == K and S:cols() == K, string.format(
    "%s: S is %d x %d, %s has %d units: S must be %d x %d", fname, S:rows(), S:cols(),
    tostring(node), K, K, K))
  for i = 1, K do
    for j = 1, K do
      local v = S:get(i, j)
      caller.check(v >= 0 and v < math.huge, string.format(
        "%s: S[%d,%d] = %g: inhibition must be finite and >= 0", fname, i, j, v))
      caller.check(i ~= j or v == 0, string.format(
        "%s: S[%d,%d] = %g: the diagonal must be 0", fname, i, j, v))
      caller.check(math.abs(v - S:get(j, i)) <= 1e-12 * (1 + math.abs(v)), string.format(
        "%s: S[%d,%d] = %g but S[%d,%d] = %g: S must be symmetric", fname, i, j, v, j, i,
        S:get(j, i)))
    end
  end
  P:copy(S)
  return net
end

-- The numbers that test the claim, over the pairs i < j split by a reference
-- pattern R (K x K: R_ij > 0 an inhibited pair, 0 a free one; for plain L1
-- pass the structured pattern the others use, as a control):
--   coact_inhibited, coact_free   P(z_i != 0 and z_j != 0), mean over pairs
--   lift_inhibited, lift_free     sum P(both) / sum P(i) P(j): 1 = independent
--   cos_inhibited, cos_free       mean cosine of the atoms (rows of D), when given
--   abscos_inhibited, abscos_free the mean |cosine| (a variant of a feature may
--                                 differ in sign or phase)
--   n_inhibited, n_free           pairs in each class
-- Z: codes (m x K).  D: the dictionary (K x n) or nil.
function M.pair_stats(Z, R, D)
  local fname = "sae.latinh.pair_stats"
  caller.check(core.ismatrix(Z) and core.ismatrix(R), fname .. ": Z and R must be matrices")
  local K, m = Z:cols(), Z:rows()
  caller.check(R:rows() == K and R:cols() == K,
               string.format("%s: R is %d x %d, Z has %d units", fname, R:rows(), R:cols(), K))
  local A = Z:map("abs"):threshold(0)            -- 0/1 activity
  local C = A:t() * A                            -- co-activation counts
  local p = A:colmean()
  local G
  if D then
    caller.check(core.ismatrix(D) and D:rows() == K, fname .. ": D must have one row per unit")
    local norms = D:hadamard(D):rowsum():map("sqrt")
    G = D * D:t()
    for i = 1, K do
      for j = 1, K do
        local d = norms:get(i, 1) * norms:get(j, 1)
        G:set(i, j, d > 0 and G:get(i, j) / d or 0)
      end
    end
  end
  local acc = { inhibited = { n = 0, both = 0, indep = 0, cos = 0, abscos = 0 },
                free = { n = 0, both = 0, indep = 0, cos = 0, abscos = 0 } }
  for i = 1, K do
    for j = i + 1, K do
      local a = R:get(i, j) > 0 and acc.inhibited or acc.free
      a.n = a.n + 1
      a.both = a.both + C:get(i, j) / m
      a.indep = a.indep + p:get(1, i) * p:get(1, j)
      if G then a.cos, a.abscos = a.cos + G:get(i, j), a.abscos + math.abs(G:get(i, j)) end
    end
  end
  local out = {}
  for name, a in pairs(acc) do
    out["n_" .. name] = a.n
    out["coact_" .. name] = a.n > 0 and a.both / a.n or 0 / 0
    out["lift_" .. name] = a.indep > 0 and a.both / a.indep or 0 / 0
    if G then
      out["cos_" .. name] = a.n > 0 and a.cos / a.n or 0 / 0
      out["abscos_" .. name] = a.n > 0 and a.abscos / a.n or 0 / 0
    end
  end
  return out
end

return M
