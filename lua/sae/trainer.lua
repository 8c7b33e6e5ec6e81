-- sae.trainer: minibatch training driven from Lua over the C optimiser's steps.
--
--   local hist = sae.train(net, X, {epochs = 5000, lr = 0.3, momentum = 0,
--                                   batch = 8, tol = 1e-3})
--
-- Options (an unknown key is an error, naming the known ones):
--   epochs    number of passes over X (required)
--   batch     rows per step (default: all rows, i.e. full-batch)
--   lr, momentum   SGD step size eta and momentum mu (defaults 0.1, 0)
--   lr_scale  {["node.tensor"] = c, ...}: that tensor's step is lr * c (sae.sgd's
--             option; DrSAE divides a matrix's rate by its repeats in the net)
--   precision 64 (default) or 32: sae.sgd's option, steps on a float copy of
--             the parameters; it is written back into net:theta() (opt:sync())
--             at the end of every epoch, before on_epoch, the checkpoint and
--             the history, and at the end: every callback sees the weights
--   schedule  learning rate per epoch: a function(epoch, lr0) -> lr, or
--             {step = N, factor = f} (lr0 * f^floor((epoch-1)/N)), or
--             {decay = d} (lr0 / (1 + d * (epoch-1)))
--   shuffle   reshuffle rows every epoch (default: true when batch < rows),
--             from the run's seeded generator
--   target, labels   as for net:eval (target defaults to X: an autoencoder)
--   tol       stop when the epoch's cost <= tol
--   rtol      stop when the cost changed by less than rtol (relative) over an epoch
--   every     print a progress line every N epochs (default: about 10 lines; 0: never)
--   quiet     true: no progress lines
--   on_epoch  function(epoch, cost, hist, opt) called after each epoch;
--             returning true stops training (opt: the SGD optimiser, whose
--             opt:velocity() a checkpoint saves)
--   first_epoch  resume: run epochs first_epoch..epochs (default 1); with the
--             parameters, the generator (sae.rng_restore) and, through
--             on_start, the velocity put back, the rest of the run draws and
--             steps exactly as the uninterrupted one
--   on_start  function(opt) called once the optimiser exists, before the
--             first step (to put a saved velocity back)
--   checkpoint  a path: resume from it when it exists (parameters, velocity,
--             generator, history and the epoch: the rest of the run is the
--             uninterrupted one's), and save the run there (sae.checkpoint)
--             every checkpoint_every epochs (default 1), after the last one,
--             and when on_epoch stops the run
--   checkpoint_every   as said
--   signature a string naming what decides the run's numbers; a checkpoint
--             saved under another signature is refused
--   keep      a table of the caller's own per-epoch records (numbers,
--             strings, tables of them): saved with the checkpoint and put
--             back in place on resuming
-- Returns the history {epoch = {...}, cost = {...}, lr = {...}, seconds = s,
-- stopped = "epochs" | "tol" | "rtol" | "on_epoch"}: epoch[i] is the i-th
-- epoch run and cost[i] the mean over its minibatches of the cost before
-- each step.  A model that nothing adds cost to (no loss node) is refused,
-- and every mistake in the arguments is reported at the script's line.
local core = require "sae.core"
local caller = require "sae.caller"
local checkpoint = require "sae.checkpoint"

local M = {}

-- A checkpoint option's file: the saved state when it exists and belongs
-- to this run (kind and signature), nil when there is none.
local function load_own(path, kind, signature, fname)
  local saved = checkpoint.load(path)
  if not saved then return nil end
  if (saved.kind or "train") ~= kind then
    caller.error(string.format("%s: %s is a checkpoint of sae.%s, not of %s; delete it or name "
                               .. "another", fname, path, saved.kind or "train", fname))
  end
  if saved.signature ~= signature then
    caller.error(string.format("%s: %s is a checkpoint of another run (%s); delete it or "
                               .. "name another", fname, path, tostring(saved.signature)))
  end
  return saved
end

local function check_every(every, fname)
  every = every or 1
  if type(every) ~= "number" or every < 1 or every % 1 ~= 0 then
    caller.error(string.format("%s: checkpoint_every = %s must be a whole number >= 1",
                               fname, tostring(every)))
  end
  return every
end

local TRAIN_KEYS = { "epochs", "batch", "lr", "momentum", "lr_scale", "precision", "schedule", "shuffle", "target",
                     "labels", "tol", "rtol", "every", "quiet", "on_epoch", "first_epoch",
                     "on_start", "checkpoint", "checkpoint_every", "signature", "keep" }

local function learning_rate(schedule, epoch, lr0)
  if schedule == nil then return lr0 end
  if type(schedule) == "function" then return schedule(epoch, lr0) end
  if schedule.step then
    return lr0 * (schedule.factor or 0.5) ^ ((epoch - 1) // schedule.step)
  end
  return lr0 / (1 + schedule.decay * (epoch - 1))
end

-- Refused before the first step, at the script's line: a schedule the loop
-- could not use, or a table with a misspelt key ({setp = 10} would
-- otherwise raise only at the first epoch, or never).
local function check_schedule(schedule)
  if schedule == nil or type(schedule) == "function" then return end
  if type(schedule) ~= "table" or (schedule.step == nil and schedule.decay == nil) then
    caller.error("sae.train: schedule: a function, {step = N, factor = f} or {decay = d} expected")
  end
  caller.options(schedule, "sae.train: schedule", { "step", "factor", "decay" })
end

function M.train(net, X, opts)
  caller.check(core.ismatrix(X), "sae.train: X must be a matrix")
  opts = caller.options(opts, "sae.train", TRAIN_KEYS)
  local epochs = caller.check(opts.epochs, "sae.train: epochs is required (passes over X)")
  local n = X:rows()
  local batch = opts.batch or n
  if type(batch) ~= "number" or batch < 1 or batch > n or batch % 1 ~= 0 then
    caller.error(string.format("sae.train: batch = %s must be a whole number in [1, %d]",
                               tostring(batch), n))
  end
  check_schedule(opts.schedule)
  local lr0 = opts.lr or 0.1
  -- sae.sgd refuses a model that nothing adds cost to (no loss node).
  local opt = caller.call(core.sgd, net, { lr = lr0, momentum = opts.momentum or 0,
                                          lr_scale = opts.lr_scale,
                                          precision = opts.precision })
  local first_epoch = opts.first_epoch or 1
  if first_epoch < 1 or first_epoch % 1 ~= 0 then
    caller.error(string.format("sae.train: first_epoch = %s must be a whole number >= 1",
                               tostring(first_epoch)))
  end
  if opts.on_start then opts.on_start(opt) end
  local hist = { epoch = {}, cost = {}, lr = {}, stopped = "epochs" }
  local ck_every = check_every(opts.checkpoint_every, "sae.train")
  if opts.keep ~= nil and type(opts.keep) ~= "table" then
    caller.error("sae.train: keep must be a table")
  end
  local saved = opts.checkpoint and load_own(opts.checkpoint, "train", opts.signature, "sae.train")
  if saved then
    net:theta():frombytes(saved.theta)
    opt:velocity():frombytes(saved.velocity)
    core.rng_restore(saved.rng)
    hist.epoch, hist.cost, hist.lr = saved.hist.epoch, saved.hist.cost, saved.hist.lr
    if opts.keep then for k, v in pairs(saved.keep or {}) do opts.keep[k] = v end end
    first_epoch = saved.epoch + 1
    hist.resumed_from = saved.epoch
  end
  local function save(epoch)
    checkpoint.save(opts.checkpoint, { signature = opts.signature, epoch = epoch,
                                       theta = net:theta():tobytes(),
                                       velocity = opt:velocity():tobytes(),
                                       rng = core.rng_state(), keep = opts.keep,
                                       hist = { epoch = hist.epoch, cost = hist.cost,
                                                lr = hist.lr } })
  end
  local shuffle = opts.shuffle
  if shuffle == nil then shuffle = batch < n end
  local every = opts.every or math.max(1, epochs // 10)

  -- Shuffled copies are gathered into buffers made once, here.
  local Xs, Ts = X, opts.target
  local labels = opts.labels
  if shuffle then
    Xs = core.matrix(n, X:cols())
    if opts.target then Ts = core.matrix(n, opts.target:cols()) end
  end

  local t0 = core.clock()
  local prev = hist.cost[#hist.cost] -- resumed: rtol compares with the saved last epoch
  for epoch = first_epoch, epochs do
    local lr = learning_rate(opts.schedule, epoch, lr0)
    caller.call(opt.set, opt, { lr = lr }) -- a schedule's bad rate names the script's line
    local lab = labels
    if shuffle then
      local perm = core.randperm(n)
      core.gather(X, perm, Xs)
      if opts.target then core.gather(opts.target, perm, Ts) end
      if labels then
        lab = {}
        for i = 1, n do lab[i] = labels[perm[i]] end
      end
    end
    local total = 0
    local bi = 0
    for first = 1, n, batch do
      bi = bi + 1
      local last = math.min(first + batch - 1, n)
      local xb = (first == 1 and last == n) and Xs or Xs:rowrange(first, last)
      local bopts = {}
      if Ts then bopts.target = (first == 1 and last == n) and Ts or Ts:rowrange(first, last) end
      if lab then
        local lb = {}
        for i = first, last do lb[#lb + 1] = lab[i] end
        bopts.labels = lb
      end
      -- A failed step (a NaN or Inf: opt:step names the node and tensor) is
      -- raised at the script's line with the epoch and batch before it.
      local ok, c = pcall(opt.step, opt, xb, bopts)
      if not ok then caller.rethrow(c, string.format("sae.train: epoch %d, batch %d", epoch, bi)) end
      total = total + c * (last - first + 1)
    end
    opt:sync() -- precision 32: the float weights into net:theta() and the velocity
    local cost = total / n
    local i = #hist.epoch + 1
    hist.epoch[i], hist.cost[i], hist.lr[i] = epoch, cost, lr
    if every > 0 and (epoch % every == 0 or epoch == 1 or epoch == epochs) and not opts.quiet then
      print(string.format("epoch %6d  cost %.6g  lr %.3g  %.2fs", epoch, cost, lr, core.clock() - t0))
    end
    if opts.tol and cost <= opts.tol then hist.stopped = "tol" end
    if opts.rtol and prev and math.abs(prev - cost) <= opts.rtol * math.abs(prev) then
      hist.stopped = "rtol"
    end
    if opts.on_epoch and opts.on_epoch(epoch, cost, hist, opt) then hist.stopped = "on_epoch" end
    prev = cost
    if opts.checkpoint and (epoch % ck_every == 0 or epoch == epochs or hist.stopped ~= "epochs") then
      save(epoch)
    end
    if hist.stopped ~= "epochs" then break end
  end
  opt:sync() -- a no-op unless a step ran since the epoch's sync
  hist.seconds = core.clock() - t0
  return hist
end

-- ---- sae.lbfgs: the C optimiser (src/lsae_optim.c), with checkpoints ------------

local LBFGS_CORE = { "max_iter", "m", "epsilon", "delta", "past", "verbose", "target", "labels",
                     "mode" }
local LBFGS_KEYS = {}
for _, k in ipairs(LBFGS_CORE) do LBFGS_KEYS[#LBFGS_KEYS + 1] = k end
for _, k in ipairs { "checkpoint", "checkpoint_every", "signature", "keep" } do
  LBFGS_KEYS[#LBFGS_KEYS + 1] = k
end
local HIST_ARRAYS = { "iter", "cost", "gnorm", "step", "evals", "seconds" }

-- The history of a resumed run: the saved iterations, then this run's (its
-- seconds counted on from the saved ones).
local function join_history(prev, h)
  if not prev then return h end
  local t = prev.seconds[#prev.seconds] or 0
  for _, k in ipairs(HIST_ARRAYS) do
    local a, n = {}, #prev[k]
    for i = 1, n do a[i] = prev[k][i] end
    for i = 1, #h[k] do a[n + i] = k == "seconds" and h[k][i] + t or h[k][i] end
    h[k] = a
  end
  h.initial_cost = prev.initial_cost
  if h.total_seconds then h.total_seconds = h.total_seconds + t end
  return h
end

-- sae.lbfgs(net, X [, opts]): full-batch L-BFGS.  With checkpoint = PATH:
-- the loop's whole state (the iterate, gradient, direction, curvature pairs,
-- iteration count, past costs) and the history so far are saved there every
-- checkpoint_every iterations, and the finished run's result when it ends;
-- the same call finds the file and goes on from it (a finished run returns
-- its saved result), with the uninterrupted run's numbers bit for bit.
function M.lbfgs(net, X, opts)
  opts = caller.options(opts, "lbfgs", LBFGS_KEYS)
  local copts = {}
  for _, k in ipairs(LBFGS_CORE) do copts[k] = opts[k] end
  local path = opts.checkpoint
  if path == nil then return caller.call(core.internal.lbfgs, net, X, copts) end
  if type(path) ~= "string" then caller.error("sae.lbfgs: checkpoint must be a path (a string)") end
  local every = check_every(opts.checkpoint_every, "sae.lbfgs")
  if opts.keep ~= nil and type(opts.keep) ~= "table" then caller.error("sae.lbfgs: keep must be a table") end
  local saved = load_own(path, "lbfgs", opts.signature, "sae.lbfgs")
  local prev
  if saved then
    if opts.keep then for k, v in pairs(saved.keep or {}) do opts.keep[k] = v end end
    if saved.done then
      net:theta():frombytes(saved.theta)
      saved.result.resumed_from = #saved.result.iter
      return saved.result
    end
    copts.resume, prev = saved.state, saved.hist
  end
  copts.save_every = every
  copts.on_save = function(state, h)
    checkpoint.save(path, { kind = "lbfgs", signature = opts.signature, state = state,
                            hist = join_history(prev, h), keep = opts.keep })
  end
  local h = join_history(prev, caller.call(core.internal.lbfgs, net, X, copts))
  if prev then h.resumed_from = #prev.iter end
  local result = {}
  for k, v in pairs(h) do result[k] = v end
  result.resumed_from = nil
  checkpoint.save(path, { kind = "lbfgs", signature = opts.signature, done = true,
                          theta = net:theta():tobytes(), result = result, keep = opts.keep })
  return h
end

return M
