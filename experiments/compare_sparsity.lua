--[[
# Six ways to sparse codes, side by side

One protocol for every method: the same MNIST images, the same number of
hidden units, the same epochs, minibatches and seed; only the method and its
own step size differ. The methods:

- **(a) plain**: a sigmoid autoencoder, `dense -> sigmoid -> dense -> sigmoid`,
  squared error, nothing else (the undercomplete-or-not baseline).
- **(b) + L2**: the same with weight decay on the weights (lambda = 3e-3, the
  UFLDL MNIST setting).
- **(c) KL**: the UFLDL sparse autoencoder: (b) plus the KL penalty on the
  mean activation (rho = 0.1, beta = 3; Ng, CS294A notes).
- **(d) Arora et al.**: neural sparse coding (COLT 2015): codes by
  thresholding the correlations with unit-norm atoms, the dictionary learned
  by the Hebbian rule A += eta (y - A x) sign(x)^T, not by gradients. The
  atoms start from random training digits (normalised), because the
  theory's start "close to the true dictionary" does not exist for real data.
  Its images are centred (the training mean image subtracted; added back
  for the reconstructions): the rule's generative model has codes of random
  sign, and on raw pixels the mean image dominates every correlation (on
  10000 images, 2 epochs: threshold 7 keeps 242 of 1000 atoms per image,
  threshold 9 keeps 0.2), so no threshold gives a sparse code.
- **(e) k-sparse**: Makhzani & Frey's linear tied autoencoder keeping the k
  largest units (k = 25, scheduled down from 100 over the first half of the
  epochs).
- **(f) ReLU + L1**: `dense -> relu -> l1 -> dense`, squared error, with weight
  decay so the L1 penalty cannot be dodged by shrinking codes and growing
  the decoder.

Every model is trained by minibatch SGD with momentum 0.9 on the squared
error averaged over each batch (Arora's rule uses the trainer's learning
rate as its eta and ignores the gradient). The step sizes were chosen per
method as the largest of a few that trained stably; they are in the
parameters table. After training, each method's code (the hidden layer as
trained: sigmoid, thresholded correlations, the top k, the ReLU) feeds one
logistic regression, trained on the training images' codes and tested on
the test images'.
]]
local sae = require "sae"

local quick = sae.arg("quick", false)
local n_hid = sae.arg("hidden", quick and 100 or 1000)
local epochs = sae.arg("epochs", quick and 2 or 10)
local batch = sae.arg("batch", 128)
local momentum = sae.arg("momentum", 0.9)
local n_train = sae.arg("images", quick and 2000 or 60000)
local n_test = quick and 500 or 10000
local sm_iter = sae.arg("softmax_iterations", quick and 15 or 150)
local only = sae.arg("methods", "plain,l2,kl,arora,ksparse,l1")
local k = sae.arg("k", quick and 10 or 25)
local tau = sae.arg("arora_tau", 4.5)
local arora_eta = sae.arg("arora_eta", 0.1)
local l1 = sae.arg("l1_lambda", 0.05)

local Xtr, dtr = sae.data.mnist("train", n_train)
local Xte, dte = sae.data.mnist("test", n_test)
local ytr, yte = sae.data.classes(dtr), sae.data.classes(dte)
local Xmon = Xte:rowrange(1, math.min(1000, n_test)) -- monitored every epoch
local mean_image = Xtr:colmean()
-- X less the training mean image, for the methods that centre (Arora).
local function centred(X) return X - sae.ones(X:rows(), 1) * mean_image end

-- ---- the methods -----------------------------------------------------------------
-- build() returns the model; code is the node whose output is the code;
-- out the node whose output is the reconstruction; filters(net) the encoder's
-- filters as rows.
local function sigmoid_ae(extra)
  return function()
    local net = sae.model(784)
    net:add("dense", { name = "W1", n_out = n_hid })
    net:add("sigmoid", { name = "code" })
    if extra.kl then net:add("kl", { rho = 0.1, beta = 3 }) end
    net:add("dense", { name = "W2", n_out = 784 })
    net:add("sigmoid", { name = "out" })
    net:add("squared_error")
    if extra.lambda then net:add("l2", { lambda = extra.lambda }) end
    return net:build()
  end
end
local function dense_filters(net) return net:param("W1", "W") end

local METHODS = {
  { key = "plain", label = "(a) plain autoencoder", lr = 0.1, build = sigmoid_ae {},
    code = "code", out = "out", filters = dense_filters },
  { key = "l2", label = "(b) autoencoder + L2", lr = 0.1, build = sigmoid_ae { lambda = 3e-3 },
    code = "code", out = "out", filters = dense_filters },
  { key = "kl", label = "(c) KL sparse (UFLDL)", lr = 0.1,
    build = sigmoid_ae { kl = true, lambda = 3e-3 }, code = "code", out = "out",
    filters = dense_filters },
  { key = "arora", label = "(d) Arora et al.", lr = arora_eta, centre = true,
    build = function()
      local net = sae.model(784)
      net:add("arora", { name = "code", n_hid = n_hid, tau = tau })
      net:add("dense", { name = "dec", n_out = 784, bias = 0, tie = "code" })
      net:add("squared_error")
      net:build()
      -- atoms from random training digits, then unit norm (project)
      local pick = sae.randperm(Xtr:rows())
      local idx = {}
      for j = 1, n_hid do idx[j] = pick[(j - 1) % #pick + 1] end
      net:param("code", "W"):copy(centred(Xtr:select(idx)))
      net:project()
      return net
    end,
    code = "code", out = "dec", filters = function(net) return net:param("code", "W") end },
  { key = "ksparse", label = "(e) k-sparse, k = " .. k, lr = 0.01,
    build = function()
      return sae.models.ksparse_autoencoder { n_vis = 784, n_hid = n_hid, k = k, alpha = 1 }
    end,
    schedule = sae.models.k_schedule(math.min(100, n_hid), k, epochs),
    out = "ks", filters = function(net) return net:param("ks", "W") end },
  { key = "l1", label = "(f) ReLU + L1", lr = 0.01,
    build = function()
      local net = sae.model(784)
      net:add("dense", { name = "W1", n_out = n_hid })
      net:add("relu", { name = "code" })
      net:add("l1", { lambda = l1 })
      net:add("dense", { name = "W2", n_out = 784 })
      net:add("squared_error")
      net:add("l2", { lambda = 3e-3 })
      return net:build()
    end,
    code = "code", out = "W2", filters = dense_filters },
}
local wanted = {}
for key in only:gmatch("[^,%s]+") do wanted[key] = true end

-- The input a method sees: X, or X centred.
local function input(M, X) return M.centre and centred(X) or X end

-- The reconstruction of X, in pixel space.
local function reconstruct(net, M, X)
  net:forward(input(M, X), { mode = "eval" })
  local Y = net:output(M.out)
  return M.centre and Y + sae.ones(X:rows(), 1) * mean_image or Y
end

-- Squared error summed over X, and its FVU.
local function error_of(net, M, X) return sae.reconstruction_error(X, reconstruct(net, M, X)) end

-- The code of X: the hidden layer in EVAL mode; for k-sparse the frozen
-- top-k encoder (alpha = 1: the k units it was trained with).
local function code(net, M, X)
  if M.key == "ksparse" then return sae.models.ksparse_encoder(net, "ks", 1):encode(X, "code") end
  return net:encode(input(M, X), M.code)
end

local snap_at = { [1] = true, [math.max(1, epochs // 4)] = true, [math.max(1, epochs // 2)] = true,
                  [epochs] = true }
local N_SHOW = 12 -- filters per snapshot row

-- With checkpoint=PREFIX each method's training is one sae.resume.phase: a
-- killed run started again skips the methods already trained (their
-- parameters, k and curves come back from PREFIX-method-<key>.ck) and
-- retrains the interrupted one from its start, with the same numbers.
local results = {}
for _, M in ipairs(METHODS) do
  if wanted[M.key] then
    print("training " .. M.label)
    local net = M.build()
    if M.schedule then net:set("ks", "k", M.schedule(1)) end
    local r = sae.resume.phase("method-" .. M.key, { net }, function()
      local r = { epoch = {}, mon = {}, time = {}, snaps = {}, snap_epochs = {} }
      local eval_seconds, t0 = 0, sae.clock()
      local hist = sae.train(net, input(M, Xtr), {
        epochs = epochs, batch = batch, lr = M.lr, momentum = momentum, every = 0,
        on_epoch = function(e, cost)
          local t = sae.clock()
          r.epoch[e] = e
          r.mon[e] = error_of(net, M, Xmon) / (Xmon:rows() * 784)
          if snap_at[e] then
            r.snaps[#r.snaps + 1] = M.filters(net):rowrange(1, math.min(N_SHOW, n_hid)):tobytes()
            r.snap_epochs[#r.snap_epochs + 1] = e
          end
          eval_seconds = eval_seconds + sae.clock() - t
          r.time[e] = sae.clock() - t0 - eval_seconds
          print(string.format("  %s  epoch %3d  loss %.5f  monitored MSE %.5f  %.1fs", M.key, e, cost,
                              r.mon[e], r.time[e]))
          if M.schedule then net:set("ks", "k", M.schedule(e + 1)) end
        end,
      })
      r.seconds = hist.seconds - eval_seconds
      r.epochs = #hist.cost
      r.k = M.schedule and net:get("ks", "k") or nil
      return r
    end)
    if r.k then net:set("ks", "k", r.k) end -- the schedule's last k, as training left it
    for i, bytes in ipairs(r.snaps) do
      r.snaps[i] = sae.matrix(math.min(N_SHOW, n_hid), 784):frombytes(bytes)
    end
    r.M, r.net = M, net
    results[#results + 1] = r
  end
end

--[[
## Training

Reconstruction error (mean squared error per pixel) of 1000 fixed test
digits after every epoch, against the epoch and against the seconds of
training, for every method. The training losses themselves are not
comparable (they include each method's own penalty).
]]
local by_epoch, by_time = {}, {}
for _, r in ipairs(results) do
  by_epoch[#by_epoch + 1] = { x = r.epoch, y = r.mon, title = r.M.label }
  by_time[#by_time + 1] = { x = r.time, y = r.mon, title = r.M.label }
end
sae.plot.curve { file = "mse_vs_epoch.png", series = by_epoch, xlabel = "epoch",
                 ylabel = "test MSE per pixel", logy = true,
                 caption = "Reconstruction error of 1000 test digits after each epoch." }
sae.plot.curve { file = "mse_vs_seconds.png", series = by_time, xlabel = "training seconds",
                 ylabel = "test MSE per pixel", logy = true,
                 caption = "The same against training time (evaluations excluded)." }

--[[
## The table

On the test images: reconstruction error (MSE per pixel) and its fraction of
variance unexplained (FVU: the squared error over the total squared
deviation from the test mean), the mean L0 of the codes (exact nonzeros: a
sigmoid is never exactly 0, so its L0 is the number of units), dead units
(never nonzero on any test image; sigmoid units cannot be), training seconds
per epoch, and the test error of logistic regression on the codes.
]]
local rows = {}
for _, r in ipairs(results) do
  local M, net = r.M, r.net
  local e, fvu = error_of(net, M, Xte)
  local Fte, Ftr = code(net, M, Xte), code(net, M, Xtr)
  local nz = Fte:map("abs"):threshold(0)
  local dead = sae.models.dead_units(nz:colmean())
  local cls = sae.softmax_regression(Ftr, ytr, Fte, yte, { lambda = 1e-4, max_iter = sm_iter,
                                                           classes = 10, bias = true })
  r.mse, r.fvu, r.l0, r.dead, r.err = e / (Xte:rows() * 784), fvu, nz:sum() / Xte:rows(), dead,
                                      cls.error
  rows[#rows + 1] = { M.label, string.format("%.5f", r.mse), string.format("%.4f", r.fvu),
                      string.format("%.1f", r.l0), dead,
                      string.format("%.2f", r.seconds / r.epochs),
                      string.format("%.2f %%", 100 * r.err), tostring(M.lr) }
  sae.report.metric(M.key .. "_test_mse", r.mse)
  sae.report.metric(M.key .. "_test_fvu", r.fvu)
  sae.report.metric(M.key .. "_mean_l0", r.l0)
  sae.report.metric(M.key .. "_dead_units", dead)
  sae.report.metric(M.key .. "_seconds_per_epoch", r.seconds / r.epochs)
  sae.report.metric(M.key .. "_test_error", r.err)
end
local raw = sae.softmax_regression(Xtr, ytr, Xte, yte, { lambda = 1e-4, max_iter = sm_iter,
                                                         classes = 10, bias = true })
rows[#rows + 1] = { "raw pixels (no code)", "-", "-", "784", "-", "-",
                    string.format("%.2f %%", 100 * raw.error), "-" }
sae.report.metric("raw_test_error", raw.error)
sae.report.table {
  caption = string.format("%d hidden units, %d epochs, batch %d, %d training and %d test images",
                          n_hid, epochs, batch, Xtr:rows(), Xte:rows()),
  header = { "method", "test MSE / pixel", "FVU", "mean L0", "dead units", "s / epoch",
             "logistic regression test error", "learning rate" },
  rows = rows,
}

--[[
## Filters as training goes

For each method, the same first units' filters (encoder weights; for Arora
the atoms) at a few epochs, one row per snapshot, top to bottom.
]]
for _, r in ipairs(results) do
  local n = r.snaps[1]:rows()
  local G = sae.matrix(n * #r.snaps, 784)
  for s, S in ipairs(r.snaps) do G:rowrange(n * (s - 1) + 1, n * s):copy(S) end
  local eps = {}
  for _, e in ipairs(r.snap_epochs) do eps[#eps + 1] = tostring(e) end
  sae.plot.filters(G, { file = "filters_" .. r.M.key .. ".png", h = 28, w = 28, cols = n,
                        caption = string.format("%s: filters of the first %d units after epochs %s "
                                                .. "(rows, top to bottom).", r.M.label, n,
                                                table.concat(eps, ", ")) })
end

--[[
## Reconstructions

Ten test digits (top row), then each method's reconstruction, one row per
method in the order of the table.
]]
local show = Xte:rowrange(1, 10)
local G = sae.matrix(10 * (#results + 1), 784)
G:rowrange(1, 10):copy(show)
for i, r in ipairs(results) do
  G:rowrange(10 * i + 1, 10 * (i + 1)):copy(reconstruct(r.net, r.M, show))
end
sae.plot.images(G, { file = "reconstructions.png", h = 28, w = 28, cols = 10,
                     caption = "Test digits and their reconstructions, one method per row." })

--[[
## Reading the result

What to look for, and what this run can and cannot say: the methods differ
in more than their sparsity (sigmoid vs linear decoders, gradient vs Hebbian
learning), and each had one step size picked, not a search, so differences
of a fraction of a percent in the last column are within what tuning would
move. The sigmoid codes (a-c) are dense by construction (L0 = all units;
KL only makes them small on average); k-sparse fixes L0 at k; L1 and
Arora's threshold give whatever L0 the penalty or threshold makes. The
lines below are computed from this run's table.
]]
local function ranked(field)
  local t = {}
  for _, r in ipairs(results) do t[#t + 1] = r end
  table.sort(t, function(a, b) return a[field] < b[field] end)
  local names = {}
  for _, r in ipairs(t) do names[#names + 1] = r.M.label end
  return table.concat(names, " < ")
end
local lines = {
  "- Reconstruction (test MSE), best first: " .. ranked("mse") .. ".",
  "- Logistic regression on the codes (test error), best first: " .. ranked("err")
    .. string.format("; raw pixels: %.2f %%.", 100 * raw.error),
}
for _, r in ipairs(results) do
  if r.err > raw.error then
    lines[#lines + 1] = string.format("- %s: its codes classify worse than the raw pixels "
                                      .. "(%.2f %% against %.2f %%).", r.M.label, 100 * r.err,
                                      100 * raw.error)
  end
  if r.l0 < 2 then
    lines[#lines + 1] = string.format("- %s: the codes are nearly empty (mean L0 %.1f of %d): "
                                      .. "the threshold silences almost every unit for almost "
                                      .. "every digit, so its reconstructions are mostly one atom "
                                      .. "or nothing.", r.M.label, r.l0, n_hid)
  end
  if r.dead > n_hid / 2 then
    lines[#lines + 1] = string.format("- %s: %d of %d units are never active on the test set.",
                                      r.M.label, r.dead, n_hid)
  end
end
sae.report.text(table.concat(lines, "\n"))
