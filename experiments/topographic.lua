--[[
# Topographic maps: group sparsity on natural patches

Hyvarinen & Hoyer (Vision Research 2001) and Kavukcuoglu, Ranzato, Fergus &
LeCun (CVPR 2009): put the units on a 2-D grid and penalise the L2 norm of
overlapping s x s *groups* of units instead of each unit alone. Units of one
group are then cheap to switch on together, so neighbours learn similar
filters and the grid becomes a smooth map of orientation and position, as in
V1. Without the grouping (each unit its own group) nothing orders the grid.

Three models, on the same 8x8 whitened natural patches, with 121 features on
an 11 x 11 grid and 3 x 3 groups with wrap-around (a torus):

- **(i) sparse coding** (UFLDL, exercise "Sparse Coding"), the smoothed L1
  sum_j sqrt(eps + s_j^2): the `group` penalty with identity grouping;
- **(ii) topographic sparse coding**, the same with the 3 x 3 groups
  sum_g sqrt(eps + sum_{j in g} s_j^2);
- **(iii) the group-sparse autoencoder** (LeCun's lecture on group
  sparsity): a linear encoder, the 3 x 3 group penalty on its code, a linear
  decoder with unit-norm columns, trained by SGD, so a code is one forward
  pass instead of an optimisation per patch.

And one number per model, not only a picture (`sae.topography.score`): each
filter's orientation from its 2-D Fourier spectrum, the mean orientation
difference between grid neighbours, divided by the same mean after random
permutations of the units over the grid. Below 1: neighbours agree, the map
is topographic; about 1: no order.
]]
local sae = require "sae"

local quick = sae.arg("quick", false)
local n_patches = sae.arg("patches", quick and 2000 or 20000)
local batch = sae.arg("batch", quick and 500 or 2000)
local outer = sae.arg("iterations", quick and 4 or 200)
local inner = sae.arg("lbfgs", quick and 8 or 20)
local lambda = sae.arg("lambda", 5e-5)
local eps = sae.arg("eps", 1e-5)
local gamma = sae.arg("gamma", 1e-2)
local ae_lambda = sae.arg("ae_lambda", 0.05)
local ae_epochs = sae.arg("ae_epochs", quick and 2 or 100)
local ae_lr = sae.arg("ae_lr", 0.05)
local ae_batch = sae.arg("ae_batch", 100)
local ae_act = sae.arg("ae_activation", "linear") -- linear | relu
local ae_tied = sae.arg("ae_tied", false)
local only = sae.arg("models", "l1,topo,ae")
local source = sae.arg("source", "auto")
local size, grid, pool = 8, 11, 3
local n_vis, K = size * size, grid * grid
local run = {}
for m in only:gmatch("[^,]+") do run[m] = true end

--[[
## The patches

UFLDL's `sampleIMAGES`: 8x8 patches at random places of Olshausen's ten
whitened images (or, without them, PNG photographs whitened here the same
way; `sae.data.natural_images`). Each patch's mean is removed (the DC is not
an edge, and a dictionary spends atoms on it otherwise); nothing else.
]]
local images, source_used = sae.data.natural_images { source = source }
sae.report.text(string.format("Images used: **%s**.", source_used))
sae.report.metric("image_source", source_used)
local X = sae.data.patches(images, size, n_patches)
X:sub(X:rowsum():scale(1 / n_vis) * sae.ones(1, n_vis))

--[[
## Sparse coding as a saelab model

The exercise alternates: for each mini-batch x (m = 2000 patches), re-start
the features as s = A^T x scaled by 1/||A_j||^2, optimise them by 20
iterations of L-BFGS with the basis A fixed, then solve A in closed form with
s fixed; 200 such outer iterations. Its objective (one patch per row here):

J(A, s) = 1/m sum_i ||s_i A - x_i||^2 + lambda sum_i sum_g sqrt(eps + sum_{j in g} s_ij^2)
          + gamma ||A||^2

with lambda = 5e-5, eps = 1e-5, gamma = 1e-2. As a model:

    code s (the batch's features, a tensor m x 121) -> group -> atoms A -> squared_error

`code` makes the features the model's parameters; `atoms` holds A (121 x 64,
one basis per row) as a NOGRAD tensor, so `sae.lbfgs` over the model moves
the features only, and its `update()` (`net:update`) puts the closed form
A = (s^T s + gamma m I)^{-1} s^T x in place. saelab's squared error is
1/(2m) sum ||.||^2 and its penalties average over the batch, so the model's
cost is J / 2 when the group penalty's lambda is the exercise's lambda times
m/2 with m = 2000 (the exercise sums the sparsity over its batch of 2000; we
keep that per-patch weight when `batch` differs, as in quick mode).
]]
local lambda_node = lambda * 2000 / 2

local function sparse_coding(grouping)
  local net = sae.model(n_vis)
  net:add("code", { name = "s", n_out = K, m = batch })
  net:add("group", { name = "grp", lambda = lambda_node, eps = eps, width = grid,
                     size = grouping == "topo" and pool or 1, tile = grouping == "topo" and 0 or 1,
                     wrap = 1 })
  net:add("atoms", { name = "A", n_out = n_vis, gamma = gamma })
  net:add("squared_error")
  return net:build()
end

-- s = x A^T, column j divided by ||A_j||^2: the exercise's start for each batch
local function init_codes(net, Xb)
  local A = net:param("A", "A")
  local D = sae.zeros(K, K)
  for j = 1, K do
    local nrm = A:row(j):norm()
    D:set(j, j, 1 / (nrm * nrm))
  end
  net:param("s", "Z"):copy(Xb * A:t() * D)
end

local Xb = sae.zeros(batch, n_vis)
-- With checkpoint=PREFIX each model's training is one sae.resume.phase: a
-- killed run started again skips the models already trained, with the same
-- numbers.
local function train_sparse_coding(name, grouping)
  local net = sparse_coding(grouping)
  local r = sae.resume.phase("sparse-coding-" .. grouping, { net }, function()
    local costs, t0 = {}, sae.clock()
    for it = 1, outer do
      local p = sae.randperm(n_patches)
      local idx = {}
      for i = 1, batch do idx[i] = p[i] end
      sae.gather(X, idx, Xb)
      init_codes(net, Xb)
      -- epsilon 1e-10: always the exercise's 20 iterations (liblbfgs's test is relative to
      -- |theta|, which large codes would pass at once)
      local h = sae.lbfgs(net, Xb, { max_iter = inner, epsilon = 1e-10, verbose = false })
      local _, cost = net:update(Xb, 0) -- forward at the optimised codes, then A in closed form
      costs[it] = 2 * cost -- J, the exercise's objective, before A's update
      if it == 1 or it % math.max(1, outer // 10) == 0 or it == outer then
        print(string.format("%s: iteration %d/%d, J = %.4f (L-BFGS: %d iterations, %s)", name, it,
                            outer, costs[it], #h.cost, h.status))
      end
    end
    return { costs = costs, seconds = sae.clock() - t0 }
  end)
  return net, r.costs, r.seconds
end

--[[
## The group-sparse autoencoder

The lecture's model: z = W x + b (linear; `ae_activation=relu` puts a ReLU
after it), the same 3 x 3 group penalty on z, and x_hat = z D, D's 121 rows
the atoms. saelab's decoder `dense` holds D^T, a 64 x 121 W whose columns are
the atoms; they are rescaled to unit norm after every SGD step (else the
penalty is dodged by small codes and large atoms). `ae_tied=1` ties the
decoder to the encoder (D = W, as in reconstruction ICA) and normalises W's
rows instead. SGD with momentum 0.9 on minibatches of 100; the penalty's
weight per patch is `ae_lambda`.
]]
local function train_autoencoder()
  local net = sae.model(n_vis)
  net:add("dense", { name = "enc", n_out = K })
  if ae_act == "relu" then net:add("relu") end
  net:add("group", { name = "grp", lambda = ae_lambda, eps = eps, width = grid, size = pool,
                     wrap = 1 })
  net:add("dense", { name = "dec", n_out = n_vis, bias = 0, tie = ae_tied and "enc" or nil })
  net:add("squared_error")
  net:build()
  -- the atoms: the decoder's columns, i.e. the rows of its W^T (tied: the encoder's rows)
  local D = sae.zeros(K, K)
  local function unit_columns()
    if ae_tied then
      local W = net:param("enc", "W")
      for j = 1, K do D:set(j, j, 1 / W:row(j):norm()) end
      W:copy(D * W)
    else
      local Wd = net:param("dec", "W")
      local Wt = Wd:t()
      for j = 1, K do D:set(j, j, 1 / Wt:row(j):norm()) end
      Wd:copy(Wd * D)
    end
  end
  unit_columns()
  local r = sae.resume.phase("autoencoder", { net }, function()
    local opt = sae.sgd(net, { lr = ae_lr, momentum = 0.9 })
    local Xs, costs, t0 = sae.zeros(n_patches, n_vis), {}, sae.clock()
    for epoch = 1, ae_epochs do
      sae.gather(X, sae.randperm(n_patches), Xs)
      local sum, k = 0, 0
      for i = 1, n_patches - ae_batch + 1, ae_batch do
        sum, k = sum + opt:step(Xs:rowrange(i, i + ae_batch - 1)), k + 1
        unit_columns()
      end
      costs[epoch] = sum / k
      if epoch == 1 or epoch % math.max(1, ae_epochs // 10) == 0 or epoch == ae_epochs then
        print(string.format("group-sparse AE: epoch %d/%d, cost %.4f", epoch, ae_epochs, costs[epoch]))
      end
    end
    return { costs = costs, seconds = sae.clock() - t0 }
  end)
  return net, r.costs, r.seconds
end

--[[
## Training and scoring

For each model: its filters drawn on the 11 x 11 grid (unit j at row
ceil(j / 11), column j - 11 (row - 1), as the groups see them), the grid
coloured by each filter's orientation (degrees; 0 and 180 are the same
orientation: black and yellow on the palette are neighbours), and the
topography score.
]]
local rows, curves = {}, {}
local function score(key, title, filters, cost, seconds)
  local t = sae.topography.score(filters, { h = size, w = size, grid = grid, perms = 200 })
  sae.plot.filters(filters, { file = "filters_" .. key .. ".png", h = size, w = size, cols = grid,
    caption = title .. ": the 121 filters on their 11 x 11 grid." })
  sae.plot.heatmap(t.map, { file = "orientation_" .. key .. ".png",
    title = title .. ": orientation (degrees)",
    caption = title .. ": the grid coloured by each filter's orientation (degrees)." })
  rows[#rows + 1] = { title, string.format("%.3f", t.ratio), string.format("%.1f", t.neighbour),
                      string.format("%.1f +- %.1f", t.shuffled, t.shuffled_sd),
                      string.format("%.4f", cost), string.format("%.0f", seconds) }
  sae.report.metric(key .. "_ratio", t.ratio)
  sae.report.metric(key .. "_neighbour_deg", t.neighbour)
  sae.report.metric(key .. "_shuffled_deg", t.shuffled)
  sae.report.metric(key .. "_final_cost", cost)
  sae.report.metric(key .. "_seconds", seconds)
end

if run.l1 then
  local net, costs, s = train_sparse_coding("sparse coding (L1)", "l1")
  curves[#curves + 1] = { y = costs, title = "(i) sparse coding" }
  score("l1", "(i) sparse coding, smoothed L1", net:param("A", "A"), costs[#costs], s)
end
if run.topo then
  local net, costs, s = train_sparse_coding("topographic sparse coding", "topo")
  curves[#curves + 1] = { y = costs, title = "(ii) topographic" }
  score("topo", "(ii) topographic sparse coding, 3x3 groups", net:param("A", "A"), costs[#costs], s)
end
if #curves > 0 then
  sae.plot.curve { file = "cost.png", series = curves, xlabel = "outer iteration",
    ylabel = "J (exercise's objective)", logy = true,
    caption = "Sparse coding: the exercise's objective per outer iteration (each on a new batch)." }
end
if run.ae then
  local net, costs, s = train_autoencoder()
  sae.plot.curve { file = "cost_ae.png", series = { { y = costs, title = "group-sparse AE" } },
    xlabel = "epoch", ylabel = "cost", logy = true,
    caption = "Group-sparse autoencoder: mean minibatch cost per epoch." }
  score("ae", "(iii) group-sparse autoencoder, encoder filters", net:param("enc", "W"),
        costs[#costs], s)
  -- the decoder's atoms, one per row of its W^T (tied: the encoder's rows)
  local atoms = ae_tied and net:param("enc", "W") or net:param("dec", "W"):t()
  score("ae_dec", "(iii) group-sparse autoencoder, decoder atoms", atoms, costs[#costs], s)
end

--[[
## The table

ratio = (mean orientation difference of grid neighbours) / (the same, mean
over 200 random permutations of the units); the differences are in degrees
(at most 90; 45 for unrelated orientations spread evenly).
]]
sae.report.table {
  caption = "Topography",
  header = { "model", "ratio", "neighbours (deg)", "permuted (deg)", "final cost", "seconds" },
  rows = rows,
}

--[[
## Reading the result

Expected (the exercise's own description): edge-like bases by about 100
outer iterations; with the 3 x 3 grouping, neighbouring bases share
orientation and position, so the orientation map is smooth (pinwheels and
stripes of one colour) and the ratio well below 1; with the identity
grouping, the bases are as edge-like but scattered, ratio about 1.
]]
