--[[
# Structured sparse coding via lateral inhibition

Gregor, Szlam & LeCun, *Structured sparse coding via lateral inhibition*,
NIPS 2011, and LeCun's lecture on it. Sparse coding with an inhibition term:

E(x, z) = 1/2 ||x - z D||^2 + lambda ||z||_1 + |z|^T S |z|

S is K x K, symmetric, non-negative, zero diagonal. A large S_ij makes units
i and j costly together (mutual inhibition); S_ij = 0 lets them co-activate.
Each training step codes a minibatch (z* = argmin_z E, FISTA inside the
`latinh` type's forward, `saelab/sparse.h`), then moves D down the gradient
of E at z* (the envelope theorem; atoms back to unit norm) and, when S is
learned, S *up* it (the lecture's min over D, max over S), each row of S
rescaled to a fixed budget.

Four codes, the same dictionary size K, the same lambda, the same initial D
and the same inhibition budget (mean row sum of S):

- **L1**: S = 0, plain non-negative sparse coding;
- **tree**: units are the nodes of a forest (16 roots, 3 children each, 4
  grandchildren each: K = 256); each unit inhibits every unit not on its own
  path to the root. Branch-mates (ancestors and descendants) are free;
- **grid**: units on a 16 x 16 grid; no inhibition within a 3 x 3
  neighbourhood, inhibition outside;
- **learned**: S learned by ascent from a uniform start.

The claim to test: inhibited pairs co-activate far less than free ones, and
atoms on one branch (one neighbourhood) come out as variations of one
feature, more similar than atoms of different branches (farther apart).
]]
local sae = require "sae"

local quick = sae.arg("quick", false)
local n_patches = sae.arg("patches", quick and 600 or 10000)
local n_eval = sae.arg("eval", quick and 200 or 1000)
local lambda = sae.arg("lambda", 0.1)
local strength = sae.arg("strength", 0.1)   -- S on an inhibited pair of the tree
local epochs = sae.arg("epochs", quick and 2 or 5)
local batch = sae.arg("batch", 100)
local lr = sae.arg("lr", 50)  -- large: grad D is a mean over the batch of rare activity
local iters = sae.arg("iters", quick and 100 or 300)
local source = sae.arg("source", "auto")
local only = sae.arg("methods", "L1,tree,grid,learned") -- a comma list: run only these
-- The initial atoms: "patches" (K training patches, scaled to unit norm) or
-- "random" (the type's own start).  From random atoms SGD at this budget
-- leaves most of the noise in place (doc/lateral_inhibition.md).
local init = sae.arg("init", "patches")
assert(init == "patches" or init == "random", "init=" .. tostring(init) .. ": patches or random")
local size = 8
local n = size * size
-- the forest: roots, children per root, grandchildren per child; the grid side
local levels = quick and { 4, 3, 4 } or { 16, 3, 4 }          -- K = 64 or 256
local side = quick and 8 or 16

--[[
## Data

Whitened natural images (Olshausen's, or saelab's whitened PNG photographs:
`sae.data.natural_images`), 8x8 patches at random places. Each patch loses
its mean (its DC); then all are scaled by one number so that the mean
squared patch norm is 1.
]]
local images, source_used = sae.data.natural_images { source = source }
sae.report.text(string.format("Images used: **%s**.", source_used))
sae.report.metric("image_source", source_used)
local function prepare(m)
  local X = sae.data.patches(images, size, m)
  for i = 1, m do
    local mean = X:row(i):mean()
    for j = 1, n do X:set(i, j, X:get(i, j) - mean) end
  end
  return X
end
local X, Xe = prepare(n_patches), prepare(n_eval)
local scale = X:norm() / math.sqrt(n_patches)
X:scale(1 / scale)
Xe:scale(1 / scale)

--[[
## The inhibition matrices

`sae.latinh.tree_S` and `sae.latinh.grid_S`. The budget is the tree's mean row
sum; the grid's strength is set so that its mean row sum is the same, and a
learned S keeps every row at it (`s_row`, project()).
]]
local parent = sae.latinh.tree_parents(levels)
local K = #parent
assert(side * side == K, "the grid must have K units")
local S_tree = sae.latinh.tree_S(parent, { strength = strength })
local budget = S_tree:sum() / K
local G1 = sae.latinh.grid_S(side, side, { radius = 1 })
local S_grid = G1:copy():scale(budget / (G1:sum() / K))
sae.report.table {
  caption = "Settings",
  header = { "K", "n", "lambda", "budget (mean row sum of S)", "tree strength", "grid strength",
             "patches", "epochs", "batch", "lr", "max FISTA iterations", "initial atoms" },
  rows = { { K, n, lambda, budget, strength, budget / (G1:sum() / K), n_patches, epochs, batch,
             lr, iters, init } },
}

-- The tree's units in display order: each root, then each child followed by
-- its children; one root's subtree per row of the mosaic.
local children = {}
for i = 1, K do children[i] = {} end
for i = 1, K do if parent[i] > 0 then table.insert(children[parent[i]], i) end end
local tree_order = {}
local function walk(u)
  tree_order[#tree_order + 1] = u
  for _, c in ipairs(children[u]) do walk(c) end
end
for i = 1, K do if parent[i] == 0 then walk(i) end end
local per_root = K // levels[1]

--[[
## Training

Minibatch SGD (`sae.train`) on the `latinh` node alone: its energy is the
cost. Every method starts from the same dictionary: K training patches
drawn at random, scaled to unit norm (`init=patches`, the usual start of
dictionary learning); the same seed before each build gives every method
the same draw.
]]
-- Rows of X at the seeded draw, each scaled to unit norm (a zero patch
-- stays zero: the type's projection leaves it, and it never activates).
local function patch_atoms(X, K)
  local idx, pick = sae.randperm(X:rows()), {}
  for i = 1, K do pick[i] = idx[i] end
  local P = X:select(pick)
  for i = 1, K do
    local r = P:rowrange(i, i)
    local norm = r:norm()
    if norm > 0 then r:scale(1 / norm) end
  end
  return P
end
local all_methods = {
  { name = "L1", S = nil, ref = "tree" },
  { name = "tree", S = S_tree, ref = "tree" },
  { name = "grid", S = S_grid, ref = "grid" },
  { name = "learned", learn = true, ref = "learned" },
}
local methods, by_name = {}, {}
for _, meth in ipairs(all_methods) do
  if ("," .. only .. ","):find("," .. meth.name .. ",", 1, true) then
    methods[#methods + 1] = meth
    by_name[meth.name] = meth
  end
end
assert(#methods > 0, "methods=" .. only .. ": none of L1, tree, grid, learned")
local results = {}
for _, meth in ipairs(methods) do
  sae.seed(1234)
  local net = sae.model(n):add("latinh", {
    name = "code", n_hid = K, lambda = lambda, iters = iters, tol = 1e-4,
    learn_S = meth.learn and 1 or 0, s_row = budget,
  }):build()
  if meth.S then sae.latinh.set_S(net, "code", meth.S) end
  if init == "patches" then net:param("code", "D"):copy(patch_atoms(X, K)) end
  local S0 = net:param("code", "S"):copy()
  local t0 = sae.clock()
  -- checkpoint=PREFIX: saved every epoch; a killed run started again goes on (sae.resume)
  local hist = sae.train(net, X, { epochs = epochs, lr = lr, momentum = 0.5, batch = batch,
                                   quiet = true, checkpoint = sae.resume.path("method-" .. meth.name),
                                   signature = sae.resume.signature("method-" .. meth.name) })
  meth.seconds = sae.clock() - t0
  meth.net, meth.hist, meth.S0 = net, hist, S0
  print(string.format("%s: final cost %.4f in %.1f s", meth.name, hist.cost[#hist.cost],
                      meth.seconds))
end

sae.plot.curve {
  file = "cost.png", title = "Mean energy per minibatch", xlabel = "epoch", ylabel = "E",
  series = (function()
    local s = {}
    for _, meth in ipairs(methods) do s[#s + 1] = { y = meth.hist.cost, title = meth.name } end
    return s
  end)(),
  caption = "The mean energy E(x, z*) per epoch (before each step), per method.",
}

--[[
## The numbers

On held-out patches, with each method's own D and S, codes by
`sae.sparse_code` (the same FISTA as the type, tol 1e-4, at most 2000
iterations, so the iteration count is the inference's own). Pairs of units
are split by a reference pattern: the tree's for L1 (a control: L1 knows
nothing of the tree) and tree, the grid's for grid, and for learned S its own
upper half (S_ij above the median of the off-diagonal entries: "inhibited").

- **co-act**: P(z_i != 0 and z_j != 0), the mean over the pairs of the class;
  **lift**: the same over P(z_i != 0) P(z_j != 0) (1: independent);
- **cos**, **|cos|**: the mean cosine (and its absolute value) between the
  atoms of a pair (branch-mates or neighbours are the "free" pairs, strangers
  the "inhibited" ones);
- **rel. error** ||X - Z D||^2 / ||X||^2 and **L0** (mean active units) at
  the same lambda; **iterations** of FISTA to converge on the 1000 patches.
]]
local function median_offdiag(S)
  local v = {}
  for i = 1, K do for j = 1, K do if i ~= j then v[#v + 1] = S:get(i, j) end end end
  table.sort(v)
  return v[#v // 2 + 1]
end
local rows, metrics = {}, {}
for _, meth in ipairs(methods) do
  local D, S = meth.net:param("code", "D"), meth.net:param("code", "S")
  local Z, info = sae.sparse_code(D, Xe, { lambda = lambda, nonneg = true,
                                           S = S:max() > 0 and S or nil, max_iter = 2000,
                                           tol = 1e-4 })
  local R
  if meth.ref == "tree" then R = S_tree
  elseif meth.ref == "grid" then R = S_grid
  else
    local med = median_offdiag(S)
    R = S:copy()
    for i = 1, K do for j = 1, K do R:set(i, j, (i ~= j and S:get(i, j) > med) and 1 or 0) end end
    meth.R = R
  end
  local st = sae.latinh.pair_stats(Z, R, D)
  local res = Xe - Z * D
  local rel = res:hadamard(res):sum() / Xe:hadamard(Xe):sum()
  local l0 = Z:map("abs"):threshold(0):sum() / Z:rows()
  meth.Z = Z
  rows[#rows + 1] = {
    meth.name, meth.ref, string.format("%.5f", st.coact_inhibited), string.format("%.5f", st.coact_free),
    string.format("%.2f", st.lift_inhibited), string.format("%.2f", st.lift_free),
    string.format("%.3f", st.cos_inhibited), string.format("%.3f", st.cos_free),
    string.format("%.3f", st.abscos_inhibited), string.format("%.3f", st.abscos_free),
    string.format("%.3f", rel), string.format("%.2f", l0), info.iters,
  }
  for k, v in pairs(st) do metrics[meth.name .. "_" .. k] = v end
  metrics[meth.name .. "_rel_error"] = rel
  metrics[meth.name .. "_l0"] = l0
  metrics[meth.name .. "_iters"] = info.iters
  metrics[meth.name .. "_train_seconds"] = meth.seconds
end
sae.report.table {
  caption = "Inhibited against free pairs, reconstruction and sparsity at equal lambda",
  header = { "method", "pairs split by", "co-act inhibited", "co-act free", "lift inhibited",
             "lift free", "cos inhibited", "cos free", "|cos| inhibited", "|cos| free",
             "rel. error", "L0", "iterations" },
  rows = rows,
}
for k, v in pairs(metrics) do sae.report.metric(k, v) end

--[[
For learned S: are similar atoms weakly inhibited? The correlation, over
pairs i < j, between the atoms' |cosine| and S_ij, and the mean |cosine| of
the 10 % most and least inhibited pairs.
]]
if by_name.learned then
  local meth = by_name.learned
  local D, S = meth.net:param("code", "D"), meth.net:param("code", "S")
  local G = D * D:t()   -- unit atoms: cosines; their absolute values (sign is a phase)
  local pairs_ = {}
  for i = 1, K do
    for j = i + 1, K do pairs_[#pairs_ + 1] = { s = S:get(i, j), c = math.abs(G:get(i, j)) } end
  end
  local N = #pairs_
  local ms, mc = 0, 0
  for _, p in ipairs(pairs_) do ms, mc = ms + p.s, mc + p.c end
  ms, mc = ms / N, mc / N
  local sxy, sxx, syy = 0, 0, 0
  for _, p in ipairs(pairs_) do
    sxy = sxy + (p.s - ms) * (p.c - mc); sxx = sxx + (p.s - ms) ^ 2; syy = syy + (p.c - mc) ^ 2
  end
  local corr = (sxx > 0 and syy > 0) and sxy / math.sqrt(sxx * syy) or 0 / 0
  table.sort(pairs_, function(a, b) return a.s < b.s end)
  local dec = math.max(1, N // 10)
  local lo, hi = 0, 0
  for i = 1, dec do lo = lo + pairs_[i].c; hi = hi + pairs_[N - i + 1].c end
  sae.report.table {
    caption = "Learned S against atom similarity",
    header = { "corr(|cos|, S)", "mean |cos|, 10% least inhibited",
               "mean |cos|, 10% most inhibited",
               "S min", "S max" },
    rows = { { string.format("%.3f", corr), string.format("%.3f", lo / dec),
               string.format("%.3f", hi / dec), string.format("%.4g", pairs_[1].s),
               string.format("%.4g", pairs_[N].s) } },
  }
  sae.report.metric("learned_corr_cos_S", corr)
  sae.report.metric("learned_cos_least_inhibited", lo / dec)
  sae.report.metric("learned_cos_most_inhibited", hi / dec)
end

--[[
## Figures

The dictionaries laid out on their structure: the tree's one root's subtree
per row (root, then each child followed by its own children); the grid's as
the grid; L1's and learned's in unit order.
]]
local function reorder(D, order)
  return D:select(order)
end
if by_name.tree then
  sae.plot.filters(reorder(by_name.tree.net:param("code", "D"), tree_order), {
    file = "dict_tree.png", h = size, w = size, cols = per_root,
    caption = "Tree S: one root's subtree per row (root, then each child and its children).",
  })
  sae.plot.heatmap(S_tree:select(tree_order):t():select(tree_order), {
    file = "S_tree.png", title = "tree S (display order)", caption = "The tree's S.",
  })
end
if by_name.grid then
  sae.plot.filters(by_name.grid.net:param("code", "D"), {
    file = "dict_grid.png", h = size, w = size, cols = side,
    caption = "Grid S: the atoms on the grid (free within a 3 x 3 neighbourhood).",
  })
  sae.plot.heatmap(S_grid, { file = "S_grid.png", title = "grid S", caption = "The grid's S." })
end
if by_name.L1 then
  sae.plot.filters(by_name.L1.net:param("code", "D"), {
    file = "dict_l1.png", h = size, w = size, cols = side, caption = "L1 (S = 0).",
  })
end
if by_name.learned then
  sae.plot.filters(by_name.learned.net:param("code", "D"), {
    file = "dict_learned.png", h = size, w = size, cols = side, caption = "Learned S.",
  })
  sae.plot.heatmap(by_name.learned.S0, {
    file = "S_learned_start.png", title = "learned S at the start",
    caption = "Learned S: its start.",
  })
  sae.plot.heatmap(by_name.learned.net:param("code", "S"), {
    file = "S_learned.png", title = "learned S", caption = "Learned S after training.",
  })
end
for _, meth in ipairs(methods) do
  local Z = meth.Z:rowrange(1, 20)
  if meth.name == "tree" then Z = Z:t():select(tree_order):t() end
  sae.plot.heatmap(Z, {
    file = "codes_" .. meth.name .. ".png", title = "codes, " .. meth.name,
    xlabel = "unit", ylabel = "patch",
    caption = "Codes of 20 held-out patches, " .. meth.name ..
      (meth.name == "tree" and " (units in the tree's display order)" or "") .. ".",
  })
end
