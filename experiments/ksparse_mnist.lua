--[[
# k-sparse autoencoders on MNIST (Makhzani & Frey, Table 1)

Makhzani & Frey, "k-Sparse Autoencoders", ICLR 2014 (arXiv 1312.5663). The
autoencoder is linear with tied weights; the only nonlinearity is keeping the
k largest hidden activities of each example (Algorithm 1):

    z = W^T x + b,   Gamma = supp_k(z),   x^ = W z_Gamma + b',   E = ||x - x^||^2

and the error is backpropagated through the k kept units only. For features,
the encoder keeps the alpha k largest activities instead (alpha = 3 in the
paper), and a logistic regression is trained on them. Table 1 of the paper
gives the MNIST test error of that classifier for 1000 hidden units:

| method | published |
|---|---|
| raw pixels | 7.20 % |
| k = 40 | 1.54 % |
| k = 25 | 1.35 % |
| k = 10 | 2.10 % |

Protocol, as in the paper (section 4) unless stated: MNIST pixels in [0, 1];
the 60000 training images split at random (from the seed) into 50000 for
training and 10000 for validation; 1000 hidden units; weights drawn from
N(0, 0.01^2), biases 0; minibatch SGD with learning rate 0.01 and momentum
0.9 on the squared error averaged over each batch of 128 (the batch size of
the paper's public notebook), reshuffled every epoch; k starts at 100 and
falls linearly to its target over the first half of the epochs, then holds
(section 3.3, "scheduling of k"). The paper trained for 5000 epochs; this
machine affords far fewer, so the test error is also shown against the
epochs trained, to show where it is heading.

**Our departures from the paper.** By default (`centre=1`) the training
split's mean image is subtracted from every image. The paper does not say
it centred; we do because on raw pixels every image shares the large mean
image, so whether a unit wins the top-k contest is decided mostly by how its
filter meets that mean: units that start against it never win, get no
gradient and stay dead (at k = 25, 100 epochs, seed 1: 256 of 1000 units
dead at the end on raw pixels against 24 centred, and 1.75 % test error
against 1.53 %; `doc/ksparse.md` has the measurements). `centre=0` gives the
paper's raw pixels. And the classifier's alpha and weight decay lambda are
chosen on the validation split (the paper fixed alpha = 3).

The classifier is softmax regression with an intercept (logistic regression
for 10 classes), trained by L-BFGS on the 50000 training codes. alpha (among
`alphas`) and lambda (among `softmax_lambdas`) are the validation split's
choice; the test set is then touched once per k with that choice, and once
more by the same classifier refitted on all the training images.

`seeds=1,2,3` runs the whole protocol (split, raw pixels, every k's
training, the choice, test and refit) once per seed, each from a generator
freshly seeded with it, so seed s gives the numbers `--seed s` alone gives;
the tables then show the mean, standard deviation and each seed's number.
Without `seeds`, the run's own seed (`--seed N`, default 1).
]]
local sae = require "sae"

local quick = sae.arg("quick", false)
local epochs = sae.arg("epochs", quick and 2 or 100)
local ks_arg = sae.arg("ks", "40,25,10")
local alphas_arg = sae.arg("alphas", "2,3,4")
local n_hid = sae.arg("hidden", 1000)
local k0 = sae.arg("k_start", 100)
local lr = sae.arg("lr", 0.01)
local momentum = sae.arg("momentum", 0.9)
local batch = sae.arg("batch", 128)
-- precision=32 trains in float32 (sae.train's precision option: float copies
-- of the weights, synced back every epoch; doc/design.md §11); 64, the
-- default, in double.
local precision = sae.arg("precision", 64)
if precision ~= 32 and precision ~= 64 then
  error("precision=" .. precision .. ": 32 or 64 expected", 0)
end
local sm_iter = sae.arg("softmax_iterations", quick and 15 or 200)
-- The classifier of the curves during training (alpha 3) uses softmax_lambda;
-- Table 1's is chosen on validation among softmax_lambdas (with alpha).
local sm_lambda = sae.arg("softmax_lambda", 1e-4)
local sm_lambdas = sae.arg("softmax_lambdas", "1e-5,3e-5,1e-4")
local n_evals = sae.arg("curve_points", quick and 2 or 10)
-- centre=1 (the default) subtracts the training split's mean image from
-- every image: our departure from the paper (see above); centre=0 is the
-- paper's raw pixels.
local centre = sae.arg("centre", true)
local seeds_arg = sae.arg("seeds", "")
local seeds_given = (sae.run.args or {}).seeds ~= nil
-- A long run can stop and go on: checkpoint=PATH saves it every
-- checkpoint_every epochs (and when stop_after epochs were trained in this
-- invocation); the same command with the same checkpoint goes on from it,
-- and gives the numbers the uninterrupted run would have. With seeds=, each
-- seed has its own file, PATH-seedN.
local ckpt_path = sae.arg("checkpoint", "")
local ckpt_every = sae.arg("checkpoint_every", 25)
local stop_after = sae.arg("stop_after", 0)
if stop_after > 0 and ckpt_path == "" then
  error("stop_after=" .. stop_after .. " needs checkpoint=PATH to keep the run", 0)
end
if ckpt_every < 1 or ckpt_every % 1 ~= 0 then
  error("checkpoint_every=" .. ckpt_every .. ": a whole number of epochs >= 1 expected", 0)
end

-- seeds=1,2,3: whole numbers in [0, 2^32) as --seed takes, each once.
local function parse_seeds(s)
  if s:match("^[%s,]*$") then
    error("seeds=" .. s .. ": an empty list; give seeds=1,2,3 or leave seeds out", 0)
  end
  local t, seen = {}, {}
  for tok in (s .. ","):gmatch("([^,]*),") do
    tok = tok:match("^%s*(.-)%s*$")
    local v = tok:match("^%d+$") and math.tointeger(tonumber(tok))
    if not v or v >= 2^32 then
      error(string.format("seeds=%s: '%s' is not a seed (a whole number in [0, 2^32))", s, tok), 0)
    end
    if seen[v] then error(string.format("seeds=%s: seed %d is listed twice", s, v), 0) end
    seen[v], t[#t + 1] = true, v
  end
  return t
end
local SEEDS = seeds_given and parse_seeds(seeds_arg) or { sae.run.seed }

-- Everything that decides the numbers of one seed's run, which its
-- checkpoint must share with the command going on from it (alphas and
-- softmax_lambdas only choose among finished models, so they may change).
local function signature(s)
  return string.format("seed %d, quick %s, centre %s, epochs %d, ks %s, hidden %d, "
                       .. "k_start %d, lr %.17g, momentum %.17g, batch %d, "
                       .. "softmax_iterations %d, softmax_lambda %.17g, curve_points %d",
                       s, tostring(quick), tostring(centre), epochs, ks_arg, n_hid, k0, lr,
                       momentum, batch, sm_iter, sm_lambda, n_evals)
         -- only when not the default: checkpoints saved before the option existed stay valid
         .. (precision ~= 64 and string.format(", precision %d", precision) or "")
end
-- A finished seed's checkpoint also keeps its results, valid for these.
local function result_key(s)
  return signature(s) .. string.format(", alphas %s, softmax_lambdas %s", alphas_arg, sm_lambdas)
end
local function ckpt_of(s)
  if ckpt_path == "" then return nil end
  return seeds_given and string.format("%s-seed%d", ckpt_path, s) or ckpt_path
end

local n_images = quick and 2000 or 60000
local n_val = quick and 500 or 10000
local n_test = quick and 500 or 10000

local function list(s, name)
  local t = {}
  for v in tostring(s):gmatch("[^,%s]+") do
    t[#t + 1] = tonumber(v) or error(string.format("%s=%s: '%s' is not a number", name, s, v), 0)
  end
  if #t == 0 then error(name .. "=" .. tostring(s) .. ": an empty list", 0) end
  return t
end
local KS, ALPHAS = list(ks_arg, "ks"), list(alphas_arg, "alphas")
local LAMBDAS = list(sm_lambdas, "softmax_lambdas")
local PUBLISHED = { [40] = "1.54 %", [25] = "1.35 %", [10] = "2.10 %" }

-- Every seed's checkpoint is read (and its signature checked) before any
-- seed runs, so a wrong file stops the command at once.
local SAVED_CK = {}
for _, s in ipairs(SEEDS) do
  local path = ckpt_of(s)
  local saved = path and sae.checkpoint.load(path) or nil
  if saved and saved.signature ~= signature(s) then
    error(string.format("%s: a checkpoint of another run (%s); delete it or name another "
                        .. "checkpoint=", path, tostring(saved.signature)), 0)
  end
  SAVED_CK[s] = saved
end

local X_all, digits = sae.data.mnist("train", n_images)
local Xte_all, dte = sae.data.mnist("test", n_test)
local yte = sae.data.classes(dte)
local yall = {}  -- all training images' labels, for the refit
for i = 1, #digits do yall[i] = digits[i] + 1 end

local function pct(x) return string.format("%.2f %%", 100 * x) end
-- Progress lines name the seed when there are several.
local function tag(s) return seeds_given and string.format("seed %d  ", s) or "" end

--[[
## The protocol, once per seed

For each seed: the generator is seeded with it; the training images are
split at random into training and validation (centred with the training
split's mean image unless `centre=0`); the same logistic regression is fitted
on the raw pixels (the baseline of Table 1); then one autoencoder per k,
each from the generator's state in turn (the runs are sequential, so each k
draws its own initial weights and shuffles). After every epoch the trainer
reports the loss; we add the dead units: those in no training example's top
k during that epoch (counted by the `ksparse` node's `usage` tensor, which
its update rule accumulates). At a few epochs along the way the current
weights are frozen into an encoder and the validation and test errors
measured with the paper's alpha = 3 and lambda `softmax_lambda`, for the
curves below. Once trained, alpha and lambda are chosen on validation, the
test error measured, and the classifier refitted on all training images.
]]

-- The seed's split (drawn from the generator) and, with centre, the data
-- less the training split's mean image.
local function split_data()
  local perm = sae.randperm(X_all:rows())
  local tr_idx, va_idx = {}, {}
  for i, j in ipairs(perm) do
    if i <= X_all:rows() - n_val then tr_idx[#tr_idx + 1] = j else va_idx[#va_idx + 1] = j end
  end
  local d = { X = X_all, Xte = Xte_all, Xtr = X_all:select(tr_idx), Xva = X_all:select(va_idx),
              ytr = {}, yva = {} }
  for i, j in ipairs(tr_idx) do d.ytr[i] = digits[j] + 1 end
  for i, j in ipairs(va_idx) do d.yva[i] = digits[j] + 1 end
  if centre then
    d.mean_image = d.Xtr:colmean()
    local function centred(M) return M - sae.ones(M:rows(), 1) * d.mean_image end
    d.X, d.Xtr, d.Xva, d.Xte = centred(d.X), centred(d.Xtr), centred(d.Xva), centred(d.Xte)
  end
  return d
end

-- Logistic regression with weight decay lambda fitted on codes F (labels
-- y), scored on Fev (labels yev).
local function fit(F, y, Fev, yev, lambda)
  return sae.softmax_regression(F, y, Fev, yev, { lambda = lambda, max_iter = sm_iter,
                                                  classes = 10, bias = true })
end

-- Fitted on the training codes; returns its error on the validation codes
-- and a function giving the error on other codes.
local function classify(d, Ftr, Fva, lambda)
  local r = fit(Ftr, d.ytr, Fva, d.yva, lambda or sm_lambda)
  return r.error, function(F, y)
    local acc = sae.score(sae.predict(r.model, F), y, 10)
    return 1 - acc
  end
end

-- The best of LAMBDAS on validation: its validation error, error function
-- and lambda; label names the features in the progress lines.
local function classify_best(d, Ftr, Fva, label)
  local best
  for _, lambda in ipairs(LAMBDAS) do
    local ve, error_on = classify(d, Ftr, Fva, lambda)
    if #LAMBDAS > 1 then
      print(string.format("%s  lambda = %g: validation error %.2f %%", label, lambda, 100 * ve))
    end
    if not best or ve < best.val then best = { val = ve, error_on = error_on, lambda = lambda } end
  end
  return best.val, best.error_on, best.lambda
end

-- Sum of squared errors of x^ against X, and FVU = that / sum ||x - mean||^2.
local function fvu(net, Xs)
  net:forward(Xs)
  local sse, f = sae.reconstruction_error(Xs, net:output("ks"))
  return f, sse / Xs:rows()
end

local dead_units = sae.models.dead_units

local function mean_l0(F) return F:map("abs"):threshold(0):sum() / F:rows() end

local eval_at = {}
for p = 1, n_evals do eval_at[math.max(1, math.floor(epochs * p / n_evals + 0.5))] = true end

local function new_net(k)
  return sae.models.ksparse_autoencoder { n_vis = 784, n_hid = n_hid, k = k, alpha = 3,
                                          init_scale = 0.01 }
end

-- What a checkpoint keeps of a k's run besides its parameters (theta, which
-- holds the usage counts too).
local SAVED = { "epoch", "loss", "dead", "kk", "curve_epoch", "curve_val", "curve_test",
                "train_seconds", "eval_seconds" }
local function record(run)
  local r = { theta = run.net:theta():tobytes() }
  for _, f in ipairs(SAVED) do r[f] = run[f] end
  return r
end

-- Epochs trained in this invocation, over all seeds (for stop_after).
local trained_here, stopped = 0, false

-- Trains every k for seed s on data d, going on from the checkpoint state
-- saved (or nil). Returns the runs (nil when stop_after stopped it) and the
-- checkpoint state as last saved.
local function train_all(s, d, saved)
  local ck = ckpt_of(s)
  local state = saved
  local runs = {}
  for ki, k in ipairs(KS) do
    local net = new_net(k)
    local k_of = sae.models.k_schedule(k0, k, epochs)
    local usage = net:param("ks", "usage")
    local run = { k = k, net = net, epoch = {}, loss = {}, dead = {}, kk = {}, curve_epoch = {},
                  curve_val = {}, curve_test = {}, train_seconds = 0, eval_seconds = 0 }
    runs[ki] = run
    local first = 1
    local from = saved and (ki < saved.ki and saved.runs[ki] or ki == saved.ki and saved.current)
    local resumed = from and ki == saved.ki
    if from then
      for _, f in ipairs(SAVED) do run[f] = from[f] end
      net:theta():frombytes(from.theta)
      first = ki == saved.ki and saved.epoch + 1 or epochs + 1
    else
      usage:fill(0)
    end
    if first <= epochs then
      net:set("ks", "k", k_of(first))
      if first == 1 then
        print(string.format("%sk = %d: %d epochs, k from %d", tag(s), k, epochs, k_of(1)))
      else
        print(string.format("%sk = %d: epochs %d to %d, resumed from %s", tag(s), k, first,
                            epochs, ck))
      end
    end
    local t_last = sae.clock()
    sae.train(net, d.Xtr, {
      epochs = epochs, first_epoch = first, batch = batch, lr = lr, momentum = momentum,
      precision = precision,
      every = 0,
      on_start = function(opt)
        -- Resuming: the velocity and the generator as they were after epoch first - 1.
        if resumed then
          opt:velocity():frombytes(saved.velocity)
          sae.rng_restore(saved.rng)
        end
      end,
      on_epoch = function(e, cost, _, opt)
        run.train_seconds = run.train_seconds + sae.clock() - t_last
        local dead = dead_units(usage)
        run.epoch[e], run.loss[e], run.dead[e], run.kk[e] = e, cost, dead, net:get("ks", "k")
        local line = string.format("%sk = %d  epoch %4d  k now %3d  loss %.5f  dead %4d  %.1fs",
                                   tag(s), k, e, run.kk[e], cost, dead, run.train_seconds)
        if eval_at[e] then
          local t = sae.clock()
          local enc = sae.models.ksparse_encoder(net, "ks", 3)
          local Ftr = enc:encode(d.Xtr, "code")
          local ve, error_on = classify(d, Ftr, enc:encode(d.Xva, "code"))
          local te = error_on(enc:encode(d.Xte, "code"), yte)
          run.curve_epoch[#run.curve_epoch + 1] = e
          run.curve_val[#run.curve_val + 1] = 100 * ve
          run.curve_test[#run.curve_test + 1] = 100 * te
          run.eval_seconds = run.eval_seconds + sae.clock() - t
          line = line .. string.format("  val %.2f %%  test %.2f %% (alpha 3)", 100 * ve, 100 * te)
        end
        print(line)
        usage:fill(0)
        net:set("ks", "k", k_of(e + 1))
        trained_here = trained_here + 1
        stopped = stop_after > 0 and trained_here >= stop_after
        if ck and (e % ckpt_every == 0 or e == epochs or stopped) then
          local done = {}
          for i = 1, ki - 1 do done[i] = record(runs[i]) end
          state = { signature = signature(s), ki = ki, epoch = e, runs = done,
                    current = record(run), rng = sae.rng_state(),
                    velocity = opt:velocity():tobytes() }
          sae.checkpoint.save(ck, state)
        end
        t_last = sae.clock()
        return stopped
      end,
    })
    if stopped then return nil, state end
  end
  return runs, state
end

-- The whole protocol for seed s, from a freshly seeded generator. Returns
-- the seed's results (numbers and lists only, as a checkpoint keeps them)
-- and, when keep is set, its data and trained models (for the figures); nil
-- when stop_after stopped it.
local function run_seed(s, keep)
  sae.seed(s)
  local saved = SAVED_CK[s]
  SAVED_CK[s] = nil
  local d = split_data()
  if saved and saved.result and saved.result_key == result_key(s) then
    -- Finished in an earlier sitting: its results, and its models only if wanted.
    print(string.format("%sfinished earlier: its results are read from %s", tag(s), ckpt_of(s)))
    local nets
    if keep then
      nets = {}
      for ki, k in ipairs(KS) do
        nets[ki] = new_net(k)
        nets[ki]:theta():frombytes((ki < saved.ki and saved.runs[ki] or saved.current).theta)
      end
    end
    return saved.result, keep and d or nil, nets
  end

  local raw = {}
  local t = sae.clock()
  local raw_error
  raw.val, raw_error, raw.lambda = classify_best(d, d.Xtr, d.Xva, tag(s) .. "raw pixels")
  raw.test = raw_error(d.Xte, yte)
  raw.seconds = sae.clock() - t

  local runs, state = train_all(s, d, saved)
  if not runs then return nil end

  t = sae.clock()
  raw.refit = fit(d.X, yall, d.Xte, yte, raw.lambda).error
  raw.seconds = raw.seconds + sae.clock() - t
  local result = { seed = s, raw = raw, runs = {} }
  for ki, run in ipairs(runs) do
    t = sae.clock()
    local best
    for _, a in ipairs(ALPHAS) do
      if math.floor(a * run.k + 1e-6) <= n_hid then
        local enc = sae.models.ksparse_encoder(run.net, "ks", a)
        local Ftr = enc:encode(d.Xtr, "code")
        local ve, error_on, lambda = classify_best(d, Ftr, enc:encode(d.Xva, "code"),
                                                   string.format("%sk = %d  alpha = %g", tag(s),
                                                                 run.k, a))
        print(string.format("%sk = %d  alpha = %g: validation error %.2f %%", tag(s), run.k, a,
                            100 * ve))
        if not best or ve < best.val then
          best = { alpha = a, val = ve, enc = enc, error_on = error_on, lambda = lambda }
        end
      end
    end
    local Fte = best.enc:encode(d.Xte, "code")
    local r = { k = run.k, epochs = #run.epoch, alpha = best.alpha, val = best.val,
                lambda = best.lambda, test = best.error_on(Fte, yte) }
    -- The same classifier refitted on all 60000 training images' codes, alpha
    -- kept: the usual last step once validation has chosen (the paper does not
    -- say whether it took it, so both numbers are shown).
    r.test_refit = fit(best.enc:encode(d.X, "code"), yall, Fte, yte, r.lambda).error
    r.classifier_seconds = sae.clock() - t
    r.l0_features = mean_l0(Fte)
    r.l0_train = mean_l0(sae.models.ksparse_encoder(run.net, "ks", 1):encode(d.Xte, "code"))
    r.fvu, r.mse = fvu(run.net, d.Xte)
    for _, f in ipairs(SAVED) do r[f] = run[f] end
    result.runs[ki] = r
  end
  if state then -- checkpoint=: the results join the finished seed's file
    state.result, state.result_key = result, result_key(s)
    sae.checkpoint.save(ckpt_of(s), state)
  end
  local nets
  if keep then
    nets = {}
    for ki, run in ipairs(runs) do nets[ki] = run.net end
  end
  return result, keep and d or nil, nets
end

-- The first seed keeps its data and models for the figures.
local results, first_data, first_nets = {}, nil, nil
for i, s in ipairs(SEEDS) do
  local r, d, nets = run_seed(s, i == 1)
  if not r then break end
  results[i] = r
  if i == 1 then first_data, first_nets = d, nets end
end

if stopped then
  local files = seeds_given and (ckpt_path .. "-seedN (one per seed)") or ckpt_path
  print(string.format("stopped after %d epochs, as stop_after asked: %s holds the run, and the "
                      .. "same command goes on from it", trained_here, files))
  sae.report.text(string.format("**Stopped after %d epochs of training (stop_after); no table "
                                .. "yet.** The checkpoint `%s` holds the run: the same command "
                                .. "goes on from it.", trained_here, files))
  return
end

local n_seeds = #SEEDS
local seeds_text = table.concat(SEEDS, ", ")

-- Mean and standard deviation (with n - 1; nil for one value) of a list.
local function mean_sd(v)
  local n, sum = #v, 0
  for _, x in ipairs(v) do sum = sum + x end
  local mean = sum / n
  if n < 2 then return mean, nil end
  local ss = 0
  for _, x in ipairs(v) do ss = ss + (x - mean) ^ 2 end
  return mean, math.sqrt(ss / (n - 1))
end
-- The list of field f of every seed's result for k index ki (ki nil: raw pixels).
local function over_seeds(ki, f)
  local v = {}
  for i, r in ipairs(results) do v[i] = ki and r.runs[ki][f] or r.raw[f] end
  return v
end
local function pct_list(v)
  local t = {}
  for i, x in ipairs(v) do t[i] = string.format("%.2f", 100 * x) end
  return table.concat(t, " / ") .. " %"
end

--[[
## Data
]]
sae.report.table {
  header = { "set", "examples", "from" },
  caption = (centre and "Data, centred: the training split's mean image subtracted from every "
                        .. "image (centre=1, the default: our departure from the paper, which "
                        .. "used pixels in [0, 1]; it keeps units from dying, see above)"
                     or "Data, pixels in [0, 1], as the paper (centre=0)")
            .. (n_seeds > 1 and string.format("; one split per seed (%s)", seeds_text)
                             or string.format("; split drawn from seed %d", SEEDS[1])),
  rows = { { "train", first_data.Xtr:rows(), "MNIST training images, random split (seeded)" },
           { "validation", first_data.Xva:rows(), "MNIST training images, the rest of the split" },
           { "test", first_data.Xte:rows(), "MNIST test images" } },
}

--[[
## Table 1

alpha, and the classifier's weight decay lambda among `softmax_lambdas`,
are the validation split's choice; the test error is measured with them.
"epochs" is what we trained, against the paper's 5000. The refit columns
refit the classifier, alpha and lambda kept, on the codes of all training
images, the usual last step once validation has chosen; the paper does not
say whether it took it, so the 50000-image columns are the ones we compare.
With several seeds, each row gives the mean over seeds, the standard
deviation (sample, n - 1 in the denominator) and every seed's number in the
order of `seeds`.
]]
-- Metrics: with one seed (no seeds=), each name as it is; with seeds=, each
-- seed's as seedS_name, and name_mean, name_sd (n - 1) over seeds for the
-- numbers that vary by seed (seconds also name_total).
-- The curves are kept in percent; metrics hold error rates, as the others.
local function fractions(v)
  local t = {}
  for i, x in ipairs(v) do t[i] = tonumber(string.format("%.10g", x / 100)) end
  return t
end
local function seed_metrics(r)
  local m = {}
  local function add(name, v) m[#m + 1] = { name, v } end
  add("raw_val_error", r.raw.val)
  add("raw_test_error", r.raw.test)
  add("raw_test_error_refit", r.raw.refit)
  add("raw_lambda", r.raw.lambda)
  add("raw_classifier_seconds", r.raw.seconds)
  for _, run in ipairs(r.runs) do
    local p = "k" .. run.k .. "_"
    add(p .. "test_error", run.test)
    add(p .. "val_error", run.val)
    add(p .. "test_error_refit", run.test_refit)
    add(p .. "alpha", run.alpha)
    add(p .. "lambda", run.lambda)
    add(p .. "epochs", run.epochs)
    add(p .. "mean_l0", run.l0_train)
    add(p .. "mean_l0_features", run.l0_features)
    add(p .. "test_fvu", run.fvu)
    add(p .. "dead_units", run.dead[run.epochs])
    add(p .. "seconds_per_epoch", run.train_seconds / run.epochs)
    add(p .. "train_seconds", run.train_seconds)
    add(p .. "curve_seconds", run.eval_seconds)
    add(p .. "classifier_seconds", run.classifier_seconds)
    add(p .. "curve_epochs", run.curve_epoch)
    add(p .. "curve_test_error", fractions(run.curve_test))
    add(p .. "curve_val_error", fractions(run.curve_val))
  end
  return m
end
local NOT_AVERAGED = { alpha = true, lambda = true, epochs = true }
if not seeds_given then
  for _, nv in ipairs(seed_metrics(results[1])) do sae.report.metric(nv[1], nv[2]) end
else
  sae.report.metric("seeds", SEEDS)
  local per_seed = {}
  for i, r in ipairs(results) do
    per_seed[i] = seed_metrics(r)
    for _, nv in ipairs(per_seed[i]) do
      sae.report.metric(string.format("seed%d_%s", SEEDS[i], nv[1]), nv[2])
    end
  end
  for j, nv in ipairs(per_seed[1]) do
    local name = nv[1]
    if type(nv[2]) == "number" and not NOT_AVERAGED[name:match("_([a-z0-9]+)$")]
       and not name:match("_mean_l0$") then
      local v = {}
      for i = 1, n_seeds do v[i] = per_seed[i][j][2] end
      local mean, sd = mean_sd(v)
      sae.report.metric(name .. "_mean", mean)
      if sd then sae.report.metric(name .. "_sd", sd) end
      if name:match("seconds$") and not name:match("per_epoch") then
        sae.report.metric(name .. "_total", mean * n_seeds)
      end
    end
  end
end

local function sd_text(v)
  local _, sd = mean_sd(v)
  return sd and string.format("%.2f", 100 * sd) or "- (one seed)"
end
local function choice_text(ki)
  local t = {}
  for i, r in ipairs(results) do
    t[i] = ki and string.format("%g, %g", r.runs[ki].alpha, r.runs[ki].lambda)
              or string.format("-, %g", r.raw.lambda)
  end
  return table.concat(t, "; ")
end
local function t1_row(label, published, ki, epochs_text)
  local test, val, refit = over_seeds(ki, "test"), over_seeds(ki, "val"),
                           over_seeds(ki, ki and "test_refit" or "refit")
  return { label, published, pct((mean_sd(test))), sd_text(test), pct_list(test),
           pct((mean_sd(val))), choice_text(ki), pct((mean_sd(refit))), sd_text(refit),
           pct_list(refit), epochs_text }
end
local rows = { t1_row("raw pixels", "7.20 %", nil, "-") }
for ki, k in ipairs(KS) do
  rows[#rows + 1] = t1_row("k-sparse, k = " .. k, PUBLISHED[k] or "-", ki,
                           tostring(results[1].runs[ki].epochs))
end
sae.report.table {
  caption = "MNIST test error of logistic regression on the features, ours beside Table 1 of "
            .. "the paper: "
            .. (n_seeds > 1 and string.format("mean over seeds %s, standard deviation (percentage "
                                              .. "points, sample sd with n - 1) and each seed's "
                                              .. "number", seeds_text)
                             or string.format("one seed (%d), so no standard deviation", SEEDS[1]))
            .. "; data " .. (centre and "centred (centre=1)" or "in [0, 1] (centre=0)"),
  header = { "method", "published", "ours (test), mean", "sd", "test, per seed",
             "ours (validation), mean", "alpha, lambda (chosen, per seed)",
             "refit on train + validation (test), mean", "refit sd", "refit, per seed",
             "epochs" },
  rows = rows,
}
local ae_rows = {}
for ki, k in ipairs(KS) do
  for i, r in ipairs(results) do
    local run = r.runs[ki]
    ae_rows[#ae_rows + 1] = {
      k, SEEDS[i], string.format("%.5f", run.loss[run.epochs]), string.format("%.2f", run.mse),
      string.format("%.4f", run.fvu), string.format("%.1f", run.l0_train),
      string.format("%.1f", run.l0_features), run.dead[run.epochs] }
  end
end
sae.report.table {
  caption = "The autoencoders: final training loss (1/2 squared error per image, batch mean), "
            .. "test reconstruction error per image with k units (sum over pixels), its fraction of "
            .. "variance unexplained, mean L0 of the test codes with k and with alpha k units, units "
            .. "dead in the last epoch",
  header = { "k", "seed", "train loss", "test SSE / image", "test FVU", "L0 (k)", "L0 (alpha k)",
             "dead units" },
  rows = ae_rows,
}

--[[
## Wall time

Per k and seed: training (the autoencoder's epochs, the curve measurements
excluded), the curve measurements (the alpha = 3 classifier at the curve's
epochs), and the Table 1 classifier (the choice of alpha and lambda on
validation, the test, the refit). A run resumed from a checkpoint counts the
seconds of every sitting; a seed whose results were read from its
checkpoint shows the seconds of the sitting that computed them.
]]
local time_rows = {}
local function fmt_s(x) return string.format("%.1f", x) end
local grand = 0
do
  local total = 0
  for i, r in ipairs(results) do
    time_rows[#time_rows + 1] = { "raw pixels", SEEDS[i], "-", "-", "-", fmt_s(r.raw.seconds),
                                  fmt_s(r.raw.seconds) }
    total = total + r.raw.seconds
  end
  if n_seeds > 1 then
    time_rows[#time_rows + 1] = { "raw pixels", "all", "-", "-", "-", fmt_s(total), fmt_s(total) }
  end
  grand = grand + total
end
for ki, k in ipairs(KS) do
  local sum = { 0, 0, 0, 0 }
  for i, r in ipairs(results) do
    local run = r.runs[ki]
    local all = run.train_seconds + run.eval_seconds + run.classifier_seconds
    time_rows[#time_rows + 1] = { "k = " .. k, SEEDS[i], fmt_s(run.train_seconds),
                                  string.format("%.2f", run.train_seconds / run.epochs),
                                  fmt_s(run.eval_seconds), fmt_s(run.classifier_seconds),
                                  fmt_s(all) }
    sum[1], sum[2] = sum[1] + run.train_seconds, sum[2] + run.eval_seconds
    sum[3], sum[4] = sum[3] + run.classifier_seconds, sum[4] + all
  end
  if n_seeds > 1 then
    time_rows[#time_rows + 1] = { "k = " .. k, "all", fmt_s(sum[1]), "-", fmt_s(sum[2]),
                                  fmt_s(sum[3]), fmt_s(sum[4]) }
  end
  grand = grand + sum[4]
end
time_rows[#time_rows + 1] = { "everything", n_seeds > 1 and "all" or SEEDS[1], "-", "-", "-", "-",
                              fmt_s(grand) }
sae.report.table {
  caption = "Wall time in seconds (data loading and figures excluded)",
  header = { "features", "seed", "training s", "s / epoch", "curve measurements s",
             "classifier s (choice, test, refit)", "total s" },
  rows = time_rows,
}

--[[
## Where training is heading

Test error (alpha = 3, lambda `softmax_lambda`) against the epochs trained,
one series per k, with the raw-pixel baseline, and the dead units and the
training loss per epoch. The paper's numbers are at 5000 epochs.
]]
-- The curve of field f (a list per k's run) for k index ki: the mean over
-- seeds, point by point (every seed measures at the same epochs).
local function mean_curve(ki, f)
  local c = {}
  for j = 1, #results[1].runs[ki][f] do
    local v = {}
    for i, r in ipairs(results) do v[i] = r.runs[ki][f][j] end
    c[j] = (mean_sd(v))
  end
  return c
end
local over = n_seeds > 1 and string.format(" Mean over seeds %s.", seeds_text)
                          or string.format(" Seed %d.", SEEDS[1])
local raw_mean = mean_sd(over_seeds(nil, "test"))
local series, dseries, lseries = {}, {}, {}
for ki, k in ipairs(KS) do
  local ep = results[1].runs[ki]
  series[#series + 1] = { x = ep.curve_epoch, y = mean_curve(ki, "curve_test"),
                          title = "k = " .. k }
  dseries[#dseries + 1] = { x = ep.epoch, y = mean_curve(ki, "dead"), title = "k = " .. k }
  lseries[#lseries + 1] = { x = ep.epoch, y = mean_curve(ki, "loss"), title = "k = " .. k }
end
series[#series + 1] = { x = { 1, epochs }, y = { 100 * raw_mean, 100 * raw_mean },
                        title = "raw pixels" }
sae.plot.curve { file = "error_vs_epoch.png", series = series, xlabel = "epoch",
                 ylabel = "test error (%)", logy = true,
                 caption = "Test error of logistic regression on the codes (alpha = 3) against "
                           .. "epochs of autoencoder training, one series per k." .. over }
sae.plot.curve { file = "dead_units.png", series = dseries, xlabel = "epoch", ylabel = "dead units",
                 caption = "Units in no training example's top k during the epoch, one series "
                           .. "per k." .. over }
sae.plot.curve { file = "loss.png", series = lseries, xlabel = "epoch", ylabel = "training loss",
                 logy = true, caption = "Training loss per epoch (k falls from 100 to its target "
                                        .. "over the first half, so the loss first rises)." .. over }

--[[
## Filters

The first 100 rows of W (each unit's filter) for each k, from the first
seed's models. The paper's Figure 1: with a large k the filters are local
strokes and pieces of digits; as k shrinks each unit has to explain more of
the image and the filters become more global, whole-digit-like.
]]
for ki, k in ipairs(KS) do
  sae.plot.filters(first_nets[ki]:param("ks", "W"):rowrange(1, math.min(100, n_hid)), {
    file = string.format("filters_k%d.png", k), h = 28, w = 28, cols = 10,
    caption = string.format("Filters, k = %d (%d epochs, seed %d).", k, results[1].runs[ki].epochs,
                            SEEDS[1]) })
end

--[[
## Reconstructions

Twenty test digits (top rows) and their reconstructions from k units (one
pair of rows per k, in the order of the table), by the first seed's models.
]]
local show = first_data.Xte:rowrange(1, 20)
-- Shown as pixels: centred images get their mean back.
local function pixels(M)
  return centre and M + sae.ones(M:rows(), 1) * first_data.mean_image or M:copy()
end
local stack = { pixels(show) }
for _, net in ipairs(first_nets) do
  net:forward(show)
  stack[#stack + 1] = pixels(net:output("ks"))
end
local grid = sae.matrix(20 * #stack, 784)
for s, M in ipairs(stack) do grid:rowrange(20 * (s - 1) + 1, 20 * s):copy(M) end
sae.plot.images(grid, { file = "reconstructions.png", h = 28, w = 28, cols = 10,
                        caption = string.format("Test digits, then their reconstructions with "
                                                .. "k = %s kept units (two rows each), seed %d.",
                                                ks_arg, SEEDS[1]) })

--[[
## Reading the result

The statements below are computed from this run's numbers, not written in
advance.
]]
local PUB = { [40] = 0.0154, [25] = 0.0135, [10] = 0.0210 }
local lines = {}
local of_seeds = n_seeds > 1 and string.format(" (mean over %d seeds)", n_seeds) or ""
for ki, k in ipairs(KS) do
  local test, refit = over_seeds(ki, "test"), over_seeds(ki, "test_refit")
  local mean, sd = mean_sd(test)
  local pub = PUB[k]
  local verdict = pub and (mean <= pub + 0.0002 and "matches or beats" or
                           string.format("falls short of (by %.2f points)", 100 * (mean - pub)))
  local trend = ""
  local ct, ce = mean_curve(ki, "curve_test"), results[1].runs[ki].curve_epoch
  local n = #ct
  if n >= 2 then
    trend = string.format("; over its last two measured points (epochs %d and %d) the test error "
                          .. "(alpha 3%s) went from %.2f %% to %.2f %%", ce[n - 1], ce[n],
                          n_seeds > 1 and ", mean over seeds" or "", ct[n - 1], ct[n])
  end
  lines[#lines + 1] = string.format("- k = %d: %s%s after %d epochs%s%s.", k, pct(mean),
    sd and string.format(" (mean over %d seeds; sd %.2f points; per seed %s)", n_seeds, 100 * sd,
                         pct_list(test)) or "",
    results[1].runs[ki].epochs,
    verdict and string.format(", which %s the published %s", verdict, PUBLISHED[k]) or "", trend)
  lines[#lines + 1] = string.format("  The classifier refitted on train + validation: %s%s.",
                                    pct((mean_sd(refit))), of_seeds)
  local dead = {}
  for i, r in ipairs(results) do dead[i] = r.runs[ki].dead[r.runs[ki].epochs] end
  lines[#lines + 1] = string.format("  Reconstruction: FVU %.3f with k units; %.0f of %d units "
                                    .. "dead in the last epoch%s.",
                                    (mean_sd(over_seeds(ki, "fvu"))), (mean_sd(dead)), n_hid,
                                    of_seeds)
end
lines[#lines + 1] = string.format("- Raw pixels: %s%s (published 7.20 %%; refitted: %s).",
                                  pct(raw_mean), of_seeds, pct((mean_sd(over_seeds(nil, "refit")))))
lines[#lines + 1] = precision == 32
  and "- Trained in float32 (precision=32: float weights, gradients and products, synced "
      .. "back to double every epoch; the classifier and the encodings run in double)."
  or "- Trained in float64 (precision=64, the default)."
sae.report.text(table.concat(lines, "\n") .. "\n\n" .. [[
The paper trained 5000 epochs; we trained the number in the table. A test
error still falling at the last points of the curve says more training
would lower it further; a flat one says the gap is not about training time.
Differences between seeds show what one run's number is worth: with
several seeds, compare the mean with the paper, and a gap with the sd.
The paper's Figure 1 has local strokes at large k and whole-digit
templates at small k; the filter figures above show what ours learned in
the epochs it had.]])
