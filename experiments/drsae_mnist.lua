--[[
# Discriminative recurrent sparse auto-encoders on MNIST (Rolfe & LeCun, 2013)

Rolfe & LeCun, "Discriminative Recurrent Sparse Auto-Encoders", ICLR 2013
(arXiv 1301.3775). The encoder is T iterations of one recurrent layer with
shared weights (section 2, eq. 1),

    z^0 = 0,   z^(t+1) = max(0, E x + S z^t - b),

a linear decoder D reconstructs x from z^T, and a classifier C reads
z^T / ||z^T||. Training has two phases (section 3): pre-training on

    L^U = 1/2 ||x - D z^T||^2 + lambda ||z^T||_1

then fine-tuning on L^U plus the classifier's multinomial logistic loss L^S.
Constraints, as `project()` after every step: the columns of D have norm
<= 1, the rows of E norm <= 1.25/(T-1), the rows of C norm <= 5. The
learning rate of each matrix is divided by the number of times it is used
in the unrolled network (E and b: T, S: T-1) and the classifier's by 5.

In saelab: the `lista` type (plugins/lista.c, ReLU-shrink, BPTT inside the
node, `max_norm`), `l2norm`, `dense` with `max_norm` (on rows, or with
`norm_axis = 1` on columns), `softmax`, `l1`, and `sae.train`'s `lr_scale`
and `checkpoint`. The table of the paper, section 4:

| encoder | published MNIST test error |
|---|---|
| DrSAE 784-400^11-10 | 1.08 % |
| DrSAE 784-200^11-10 | 1.21 % |
| DrSAE 784-200^2-10 | 1.49 % |

Protocol: MNIST images scaled to unit L2 norm (section 4); 50000 training
and 10000 validation images from the training set (seeded split); the
10000 test images touched only at the validation split's chosen epoch.
Not given in the paper, chosen here (see doc/drsae.md for how): lambda, the
base learning rate, momentum, batch size and the epochs of each phase. The
epoch of the fine-tuning phase is chosen on validation (early stopping).
]]
local sae = require "sae"

local quick = sae.arg("quick", false)
local configs_arg = sae.arg("configs", quick and "20x3,20x2" or "400x11,200x11,200x2")
local pre_epochs = sae.arg("pre_epochs", 3)
local fine_epochs = sae.arg("fine_epochs", quick and 2 or 200)
-- (the run of doc/drsae.md: pre_epochs=1 fine_epochs=20)
local lambda = sae.arg("lambda", 0.01)
-- z / sqrt(eps + ||z||^2): an eps well above 1e-8 keeps the classifier's
-- gradient through the normalisation bounded when a code is nearly zero.
local zn_eps = sae.arg("zn_eps", 1e-2)
-- The classifier's rate factor: the paper's is 1/5; 1 did better on the
-- validation runs of doc/drsae.md (our runs are far shorter than the paper's).
local cls_scale = sae.arg("cls_scale", 1)
-- The fine-tuning rate falls as lr / (1 + decay (epoch - 1)): at a constant
-- rate the validation error of 784-400^11 stopped falling and jumped by a
-- point from epoch to epoch (doc/drsae.md).
local lr = sae.arg("lr", 0.03)
local decay = sae.arg("decay", 0.05)
local momentum = sae.arg("momentum", 0.9)
local batch = sae.arg("batch", 50)
-- Smaller sets for choosing hyper-parameters (doc/drsae.md): images=, val=.
local n_images = sae.arg("images", quick and 1200 or 60000)
local n_val = sae.arg("val", quick and 200 or 10000)
local n_test = sae.arg("test", quick and 300 or 10000)
local PUBLISHED = { ["400x11"] = "1.08 %", ["200x11"] = "1.21 %", ["200x2"] = "1.49 %" }

-- ---- data: unit-norm rows, a seeded 50000 / 10000 split -----------------------
-- The scaling is the l2norm type itself (eps 1e-8 is far below ||x||^2).
local function unit_rows(M)
  local n = sae.model(M:cols()):add("l2norm", { name = "u" }):build()
  n:forward(M)
  return n:output("u"):copy()
end
local X, digits = sae.data.mnist("train", n_images)
local Xte, dte = sae.data.mnist("test", n_test)
X, Xte = unit_rows(X), unit_rows(Xte)
local perm = sae.randperm(X:rows())
local tr_idx, va_idx = {}, {}
for i, j in ipairs(perm) do
  if i <= X:rows() - n_val then tr_idx[#tr_idx + 1] = j else va_idx[#va_idx + 1] = j end
end
local Xtr, Xva = X:select(tr_idx), X:select(va_idx)
local ytr, yva, yte = {}, {}, {}
for i, j in ipairs(tr_idx) do ytr[i] = digits[j] + 1 end
for i, j in ipairs(va_idx) do yva[i] = digits[j] + 1 end
for i = 1, #dte do yte[i] = dte[i] + 1 end
-- the training error is followed on the first images of the split
local Xtr_part, ytr_part = Xtr:rowrange(1, math.min(Xtr:rows(), 2000)), {}
for i = 1, Xtr_part:rows() do ytr_part[i] = ytr[i] end
sae.report.table {
  header = { "set", "examples", "from" },
  caption = "Data: MNIST, each image scaled to unit L2 norm",
  rows = { { "train", Xtr:rows(), "training images, random split (seeded)" },
           { "validation", Xva:rows(), "training images, the rest" },
           { "test", Xte:rows(), "test images" } },
}

--[[
## The model

One network per phase; fine-tuning starts from the pre-trained encoder and
decoder (copied tensor by tensor) and adds the classifier branch, which
reads the code by name. The l1 penalty reads the code too, and the
decoder follows it (a penalty passes its input through).
]]
local function build(K, T, with_classifier)
  local net = sae.model(784)
  net:add("lista", { name = "code", n_hid = K, T = T, shrink = 1,
                     max_norm = T > 1 and 1.25 / (T - 1) or 1.25 })
  if with_classifier then
    net:add("l2norm", { name = "zn", input = "code", eps = zn_eps })
    net:add("dense", { name = "cls", n_out = 10, max_norm = 5 })
    net:add("softmax", { name = "ls" })
  end
  net:add("l1", { name = "lu", input = "code", lambda = lambda })
  net:add("dense", { name = "dec", n_out = 784, bias = 0, max_norm = 1, norm_axis = 1 })
  net:add("squared_error", { name = "rec" })
  return net:build()
end

-- Each matrix's rate divided by the times the unrolled net uses it.
local function scales(T, with_classifier)
  local s = { ["code.We"] = 1 / T, ["code.b"] = 1 / T, ["code.Sl"] = 1 / math.max(T - 1, 1) }
  if with_classifier then s["cls.W"], s["cls.b"] = cls_scale, cls_scale end
  return s
end

local function copy_tensors(from, to, list)
  for _, t in ipairs(list) do to:param(t[1], t[2]):copy(from:param(t[1], t[2])) end
end
local SHARED = { { "code", "We" }, { "code", "Sl" }, { "code", "b" }, { "dec", "W" } }

-- Forward in chunks of 1000 images, fn(labels) after each: the workspace of
-- a node is sized for the largest batch it has seen, and lista keeps 2T + 1
-- codes per example for backward (74 MB for 1000 images of 784-400^11;
-- 740 MB for the whole test set).
local function forward_chunks(net, Xs, ys, fn)
  for first = 1, Xs:rows(), 1000 do
    local last = math.min(first + 999, Xs:rows())
    local yc = table.move(ys, first, last, 1, {})
    net:forward(Xs:rowrange(first, last), { labels = yc })
    fn(yc)
  end
end

local function error_rate(net, Xs, ys)
  local wrong = 0
  forward_chunks(net, Xs, ys, function(yc)
    local pred = net:output("cls"):argmax()
    for i = 1, #yc do if pred[i] ~= yc[i] then wrong = wrong + 1 end end
  end)
  return wrong / Xs:rows()
end

local function pct(x) return string.format("%.2f %%", 100 * x) end
-- What decides a phase's numbers up to any epoch, for its checkpoint: not
-- its own number of epochs (no schedule: a longer run starts as a shorter
-- one), so a run may be lengthened and go on from its checkpoint (hence
-- its own signature, not sae.resume.signature, which names every argument).
local function signature(name, phase)
  return string.format("drsae %s %s seed %d quick %s images %d val %d lambda %.17g lr %.17g "
                       .. "momentum %.17g batch %d%s", name, phase, sae.run.seed, tostring(quick),
                       n_images, n_val, lambda, lr, momentum, batch,
                       phase == "fine" and string.format(" pre %d zn_eps %.17g cls_scale %.17g decay %.17g",
                                                         pre_epochs, zn_eps, cls_scale, decay) or "")
end

--[[
## Training

Pre-training, then fine-tuning with the validation error after every
epoch; the parameters of the best validation epoch are kept (in the
checkpoint too, so a resumed run keeps them) and the test error is
measured with them once. With `checkpoint=PREFIX` each phase of each
encoder resumes from PREFIX-<encoder>-<phase>.ck.
]]
local rows, results = {}, {}
for spec in configs_arg:gmatch("[^,%s]+") do
  local K, T = spec:match("^(%d+)x(%d+)$")
  K, T = assert(tonumber(K), "configs: KxT expected, got " .. spec), tonumber(T)
  local t0 = sae.clock()
  local pre = build(K, T, false)
  pre:param("code", "b"):fill(0) -- thresholds at 0: with unit-norm x, U(0, 0.2) starts silent
  local hp = sae.train(pre, Xtr, { epochs = pre_epochs, batch = batch, lr = lr, momentum = momentum,
                                   lr_scale = scales(T, false), every = 1,
                                   checkpoint = sae.resume.path(spec .. "-pre"),
                                   signature = signature(spec, "pre") })
  local pre_seconds = sae.clock() - t0
  local net = build(K, T, true)
  copy_tensors(pre, net, SHARED)
  local keep = { val = {}, test = {}, best = nil, best_theta = nil }
  local t1 = sae.clock()
  local hf = sae.train(net, Xtr, {
    epochs = fine_epochs, batch = batch, lr = lr, momentum = momentum, labels = ytr,
    lr_scale = scales(T, true), every = 0, keep = keep,
    schedule = decay > 0 and { decay = decay } or nil,
    checkpoint = sae.resume.path(spec .. "-fine"), -- PREFIX-<encoder>-fine.ck
    signature = signature(spec, "fine"),
    on_epoch = function(e, cost)
      local ve, te = error_rate(net, Xva, yva), error_rate(net, Xte, yte)
      local tre = error_rate(net, Xtr_part, ytr_part)
      keep.val[e], keep.test[e] = ve, te -- the test curve is shown, never used to choose
      if not keep.best or ve < keep.val[keep.best] then
        keep.best, keep.best_theta = e, net:theta():tobytes()
      end
      print(string.format("%s  fine-tune epoch %3d  cost %.5f  train %.2f %%  val %.2f %%  "
                          .. "test %.2f %%  %.0fs", spec, e, cost, 100 * tre, 100 * ve, 100 * te,
                          sae.clock() - t1))
    end,
  })
  net:theta():frombytes(keep.best_theta)
  local r = { spec = spec, K = K, T = T, net = net, best = keep.best, val = keep.val[keep.best],
              test = error_rate(net, Xte, yte), curve_val = keep.val, curve_test = keep.test,
              pre_cost = hp.cost[#hp.cost], seconds_pre = pre_seconds,
              seconds_fine = sae.clock() - t1, epochs_fine = #hf.epoch }
  results[#results + 1] = r
  sae.report.metric("test_error_" .. spec, r.test)
  rows[#rows + 1] = { string.format("DrSAE 784-%d^%d-10", K, T), PUBLISHED[spec] or "-",
                      pct(r.test), pct(r.val), tostring(r.best),
                      string.format("%d + %d", pre_epochs, r.epochs_fine),
                      string.format("%.0f + %.0f s", r.seconds_pre, r.seconds_fine) }
end

--[[
## The table

"ours" is the test error at the fine-tuning epoch of lowest validation
error ("chosen"); "epochs" counts pre-training + fine-tuning epochs run,
against the paper's (not stated in the text; far more than ours).
]]
sae.report.table {
  header = { "encoder", "published", "ours (test)", "validation", "chosen epoch", "epochs",
             "time" },
  caption = string.format("MNIST test error; lambda = %g, lr = %g, momentum = %g, batch = %d",
                          lambda, lr, momentum, batch),
  rows = rows,
}

-- Error against fine-tuning epochs.
local series = {}
for _, r in ipairs(results) do
  local xs, v, t = {}, {}, {}
  for e = 1, #r.curve_val do xs[e], v[e], t[e] = e, 100 * r.curve_val[e], 100 * r.curve_test[e] end
  series[#series + 1] = { x = xs, y = v, title = r.spec .. " validation" }
  series[#series + 1] = { x = xs, y = t, title = r.spec .. " test" }
end
sae.plot.curve { file = "error_vs_epoch.png", series = series, xlabel = "fine-tuning epoch",
                 ylabel = "error (%)", caption = "Validation and test error during fine-tuning" }

--[[
## Figures of the first encoder

Rows of E and columns of D as filters; S as a heat map; the code of a test
digit across the T iterations (one network per t, all with the trained
E, S, b); and the filters sorted by the norm of their classifier weights
(the paper's part-units, small classifier weights, against
prototype-units, large ones).
]]
local r = results[1]
local net, K, T = r.net, r.K, r.T
local nshow = math.min(100, K)
sae.plot.filters(net:param("code", "We"):rowrange(1, nshow), { file = "filters_E.png", h = 28, w = 28,
                 cols = 10, caption = "Rows of E (encoder), first " .. nshow .. " units" })
sae.plot.filters(net:param("dec", "W"):t():rowrange(1, nshow), { file = "filters_D.png", h = 28,
                 w = 28, cols = 10, caption = "Columns of D (decoder atoms), same units" })
sae.plot.heatmap(net:param("code", "Sl"), { file = "S.png", title = "S (explaining-away matrix)",
                 caption = "S, " .. K .. " x " .. K })
-- code across iterations: the units most active at t = T, their z^t against t
local x1 = Xte:rowrange(1, 1)
local Zt = {}
for t = 1, T do
  local n = sae.model(784):add("lista", { name = "c", n_hid = K, T = t }):build()
  n:param("c", "We"):copy(net:param("code", "We"))
  n:param("c", "Sl"):copy(net:param("code", "Sl"))
  n:param("c", "b"):copy(net:param("code", "b"))
  n:forward(x1)
  Zt[t] = n:output("c"):copy()
end
local units = {}
for j = 1, K do units[j] = j end
table.sort(units, function(a, b) return Zt[T]:get(1, a) > Zt[T]:get(1, b) end)
local zseries, active = {}, 0
for j = 1, K do if Zt[T]:get(1, j) > 0 then active = active + 1 end end
for i = 1, math.min(8, K) do
  local ys, xs = {}, {}
  for t = 1, T do xs[t], ys[t] = t, Zt[t]:get(1, units[i]) end
  zseries[i] = { x = xs, y = ys, title = "unit " .. units[i] }
end
sae.plot.curve { file = "code_iterations.png", series = zseries, xlabel = "iteration t",
                 ylabel = "z^t", caption = string.format("The code of the first test digit (a %d) "
                 .. "across the iterations: the 8 units largest at t = T (%d of %d units active "
                 .. "at T)", yte[1] - 1, active, K) }
-- dead units: never active on the validation images
local alive = {}
forward_chunks(net, Xva, yva, function()
  local Z = net:output("code")
  for j = 1, K do if Z:col(j):max() > 0 then alive[j] = true end end
end)
local dead = 0
for j = 1, K do if not alive[j] then dead = dead + 1 end end
sae.report.metric("dead_units", dead)
sae.report.text(string.format("%d of %d units are never active on the validation images.", dead, K))
-- units sorted by the norm of their classifier weights (columns of C)
local C = net:param("cls", "W")
local order = {}
for j = 1, K do order[j] = { j, C:col(j):norm() } end
table.sort(order, function(a, b) return a[2] > b[2] end)
local top, bottom = {}, {}
for i = 1, math.min(50, K // 2) do top[i], bottom[i] = order[i][1], order[K + 1 - i][1] end
sae.plot.filters(net:param("code", "We"):select(top), { file = "E_top_classifier.png", h = 28,
                 w = 28, cols = 10, caption = "Rows of E of the units with the LARGEST classifier "
                 .. "weights (prototype-like in the paper)" })
sae.plot.filters(net:param("code", "We"):select(bottom), { file = "E_bottom_classifier.png", h = 28,
                 w = 28, cols = 10, caption = "Rows of E of the units with the SMALLEST classifier "
                 .. "weights (part-like in the paper)" })
sae.report.metric("classifier_norm_largest", order[1][2])
sae.report.metric("classifier_norm_smallest", order[K][2])
