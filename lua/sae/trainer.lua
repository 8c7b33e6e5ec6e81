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

local TRAIN_KEYS = { "epochs", "batch", "lr", "momentum", "lr_scale", "schedule", "shuffle", "target",
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
                                          lr_scale = opts.lr_scale })
  local first_epoch = opts.first_epoch or 1
  if first_epoch < 1 or first_epoch % 1 ~= 0 then
    caller.error(string.format("sae.train: first_epoch = %s must be a whole number >= 1",
                               tostring(first_epoch)))
  end
  if opts.on_start then opts.on_start(opt) end
  local hist = { epoch = {}, cost = {}, lr = {}, stopped = "epochs" }
  local ck_every = opts.checkpoint_every or 1
  if ck_every < 1 or ck_every % 1 ~= 0 then
    caller.error(string.format("sae.train: checkpoint_every = %s must be a whole number >= 1",
                               tostring(ck_every)))
  end
  if opts.keep ~= nil and type(opts.keep) ~= "table" then
    caller.error("sae.train: keep must be a table")
  end
  local saved = opts.checkpoint and checkpoint.load(opts.checkpoint)
  if saved then
    if saved.signature ~= opts.signature then
      caller.error(string.format("sae.train: %s is a checkpoint of another run (%s); delete it or "
                                 .. "name another", opts.checkpoint, tostring(saved.signature)))
    end
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
  hist.seconds = core.clock() - t0
  return hist
end

return M
