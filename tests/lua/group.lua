-- tests/lua/group.lua -- the `group` penalty from Lua: the groupings its
-- hyper-parameters build (overlapping windows with and without wrap-around,
-- disjoint blocks, Gaussian weights), its cost against a direct sum, an
-- explicit grouping from sae.models.set_groups, a whole model's gradient,
-- and the one-line errors of bad input.
local sae = require "sae"

local expect = require "expect"
local raises, near = expect.raises, expect.near

local function group_net(n, hp)
  hp.name = "grp"
  return sae.model(n):add("group", hp):build()
end

-- 3x3 windows on a 4 x 4 torus: 16 groups of 9; every unit in 9 groups
local G = group_net(16, { size = 3 }):param("grp", "G")
assert(G:rows() == 16 and G:cols() == 16)
for g = 1, 16 do near(G:row(g):sum(), 9, 0, "units of window " .. g) end
near(G:t():row(6):sum(), 9, 0, "windows holding unit 6")
-- window 1 has its corner at unit 1: units (1..3) x (1..3) of the grid
for _, j in ipairs { 1, 2, 3, 5, 6, 7, 9, 10, 11 } do assert(G:get(1, j) == 1) end
-- window 16 (corner at row 4, column 4) wraps to rows 4, 1, 2 and columns 4, 1, 2
for _, j in ipairs { 16, 13, 14, 4, 1, 2, 8, 5, 6 } do assert(G:get(16, j) == 1, j) end
-- no wrap: only the 2 x 2 windows inside the grid
assert(group_net(16, { size = 3, wrap = 0 }):param("grp", "G"):rows() == 4)
-- 2 x 2 blocks on a 4 x 4 grid: 4 disjoint groups covering every unit once
local B = group_net(16, { size = 2, tile = 1 }):param("grp", "G")
assert(B:rows() == 4 and B:sum() == 16 and (B * B:t()):equal(sae.eye(4) * 4))
-- size 1 blocks: the identity (the smoothed L1 of plain sparse coding)
assert(group_net(6, { size = 1, tile = 1, width = 3 }):param("grp", "G"):equal(sae.eye(6)))
-- a 2 x 5 grid (width 5) with 2 x 2 windows on a torus: 10 groups
assert(group_net(10, { width = 5 }):param("grp", "G"):rows() == 10)
-- Gaussian weights: centre 1, edge exp(-1/(2 sigma^2)), corner exp(-2/(2 sigma^2))
local Gs = group_net(9, { size = 3, sigma = 0.8 }):param("grp", "G")
near(Gs:get(1, 5), 1, 1e-15, "centre weight")
near(Gs:get(1, 2), math.exp(-1 / (2 * 0.64)), 1e-15, "edge weight")
near(Gs:get(1, 1), math.exp(-2 / (2 * 0.64)), 1e-15, "corner weight")

-- the cost: lambda/m sum_i sum_g sqrt(eps + sum_j G_gj x_ij^2), and y = x
sae.seed(2385)
local lambda, eps = 2.385, 1e-3
local net = group_net(16, { size = 3, lambda = lambda, eps = eps })
local X = sae.rand(7, 16, { a = -1, b = 1 })
local S = X:map("square") * net:param("grp", "G"):t()
local want = 0
for i = 1, S:rows() do
  for g = 1, S:cols() do want = want + math.sqrt(eps + S:get(i, g)) end
end
near(net:cost(X), lambda / 7 * want, 1e-12, "group cost")
net:forward(X)
assert(net:output("grp"):equal(X), "y = x")

-- an explicit overlapping grouping (a tree's subtrees) with weights
local t = sae.model(5):add("group", { name = "grp", groups = 3, lambda = 1 }):build()
assert(t:param("grp", "G"):sum() == 0, "explicit groups start empty")
sae.models.set_groups(t, "grp", { { 1, 2, 3, 4, 5 }, { 2, 3 }, { 4, 5, weights = { 0.5, 2 } } })
local x = sae.matrix { { 0.3, -1.2, 0.7, 2.0, -0.4 } }
local e = 1e-5
local w = math.sqrt(e + 0.09 + 1.44 + 0.49 + 4 + 0.16) + math.sqrt(e + 1.44 + 0.49) +
          math.sqrt(e + 0.5 * 4 + 2 * 0.16)
near(t:cost(x), w, 1e-12, "explicit groups' cost")
raises("group 2 names unit 6, outside 1..5", sae.models.set_groups, t, "grp",
       { { 1 }, { 2, 6 }, { 3 } })
raises("group 1 names unit 0, outside 1..5", sae.models.set_groups, t, "grp", { { 0 }, { 1 }, { 2 } })
raises("group 3: weight -1 of unit 4 must be a number >= 0", sae.models.set_groups, t, "grp",
       { { 1 }, { 2 }, { 4, weights = { -1 } } })
raises("2 groups given, node grp holds 3", sae.models.set_groups, t, "grp", { { 1 }, { 2 } })
-- a negative weight written directly into G is refused by forward
t:param("grp", "G"):set(2, 3, -0.5)
raises("G[2,3] = -0.5: group weights must be >= 0", t.cost, t, x)

-- a whole model: dense -> group (3x3 windows on a 4x4 torus) -> dense -> squared_error
local m = sae.model(6):add("dense", { n_out = 16 }):add("group", { size = 3, lambda = 0.1 })
  :add("dense", { n_out = 6 }):add("squared_error"):build()
local gc = m:gradcheck(sae.rand(5, 6), { tol = 1e-8 })
assert(gc.passed, gc.message)

-- bad input: one line naming the hyper-parameter
local function build(n, hp) return function() group_net(n, hp) end end
raises("size 5 is larger than the 4 x 4 grid of units", build(16, { size = 5 }))
raises("width 5 does not tile the 16 units", build(16, { width = 5 }))
raises("tile = 1 needs size 3 to divide both sides of the 4 x 4 grid", build(16, { size = 3, tile = 1 }))
raises("eps = 0 is outside", build(16, { eps = 0 }))
raises("eps = -1 is outside", build(16, { eps = -1 }))
raises("size 2 is larger than the 1 x 7 grid of units", build(7, {}))
