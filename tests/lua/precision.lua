-- tests/lua/precision.lua -- sae.train and sae.sgd with precision = 32: the
-- float copy tracks the double run, is the same bytes from the same seed,
-- is written back at every epoch's end (so a checkpoint's stop-and-go gives
-- the uninterrupted run), and the option's errors.
local sae = require "sae"

local raises = require("expect").raises

-- Smooth data of 40 inputs (sums of random bumps), as images are: a small
-- k-sparse autoencoder has something to learn.
sae.seed(11)
local n, d = 96, 40
local X = sae.matrix(n, d)
for i = 1, n do
  local c1, c2 = math.random() * d, math.random() * d
  for j = 1, d do
    X:set(i, j, math.exp(-((j - c1) / 4) ^ 2) + 0.5 * math.exp(-((j - c2) / 3) ^ 2))
  end
end

local function ksnet()
  return sae.model(d):add("ksparse", { name = "ks", n_hid = 60, k = 6, init_scale = 0.1 })
    :add("squared_error"):build()
end

local function run(precision, opts)
  sae.seed(5)
  local net = ksnet()
  local o = { epochs = 6, batch = 16, lr = 0.05, momentum = 0.9, quiet = true,
              precision = precision }
  for k, v in pairs(opts or {}) do o[k] = v end
  return sae.train(net, X, o), net
end

-- float tracks double: every epoch's cost within 1e-4 relative (float's
-- rounding, 6e-8 a value, compounds over 36 steps; a wrong term in any
-- float kernel is off by far more), and the cost falls
local h64, net64 = run(64)
local h32, net32 = run(32)
for e = 1, 6 do
  local r = math.abs(h32.cost[e] - h64.cost[e]) / h64.cost[e]
  assert(r < 1e-4, string.format("epoch %d: cost %.9g (32) vs %.9g (64), %.2g relative", e,
                                 h32.cost[e], h64.cost[e], r))
end
assert(h32.cost[6] < 0.5 * h32.cost[1], string.format("%g -> %g", h32.cost[1], h32.cost[6]))
-- the float weights are in net:theta() after training (synced), as doubles
-- that are floats: encode and eval see them
local t32 = net32:theta()
local diff = 0
for i = 1, t32:rows() do
  local v = t32:get(i, 1)
  assert(string.unpack("f", string.pack("f", v)) == v, "theta entry is not a float")
  diff = math.max(diff, math.abs(v - net64:theta():get(i, 1)))
end
assert(diff > 0 and diff < 1e-3, "theta 32 vs 64: " .. diff)
assert(math.abs(net32:eval(X) - net64:eval(X)) < 1e-4 * net64:eval(X))

-- the same seed twice: the same bytes
local _, again = run(32)
assert(again:theta():tobytes() == t32:tobytes(), "same seed, different float run")

-- every on_epoch sees the synced weights: usage (counted by update_f32)
-- sums to the examples times k at each epoch's end, and zeroing it there
-- (as the k-sparse experiment does) is what the next epoch counts from
sae.seed(5)
local net = ksnet()
local usage = net:param("ks", "usage")
usage:fill(0)
sae.train(net, X, { epochs = 3, batch = 16, lr = 0.05, momentum = 0.9, quiet = true,
                    precision = 32, on_epoch = function(e, _, _, opt)
  assert(opt:precision() == 32)
  local total = 0
  for j = 1, usage:cols() do total = total + usage:get(1, j) end
  assert(total == n * 6, string.format("epoch %d: usage sums to %g, not %d", e, total, n * 6))
  usage:fill(0)
end })

-- stop and go: 3 epochs, stopped by on_epoch, saved to a checkpoint; a
-- fresh model and optimiser go on from it to epoch 6: the uninterrupted
-- run's bytes (the float copy is a float -> double -> float round trip)
local path = os.tmpname()
os.remove(path)
local h1 = run(32, { checkpoint = path, on_epoch = function(e) return e == 3 end })
assert(h1.stopped == "on_epoch" and #h1.cost == 3)
local h2, resumed = run(32, { checkpoint = path })
assert(h2.resumed_from == 3 and #h2.cost == 6)
os.remove(path)
assert(resumed:theta():tobytes() == t32:tobytes(), "stop-and-go differs from the straight run")
for e = 1, 6 do assert(h2.cost[e] == h32.cost[e]) end

-- opt:sync() by hand: theta is untouched until the sync, then holds the
-- float weights; at 64 it does nothing
sae.seed(5)
net = ksnet()
local before = net:theta():tobytes()
local opt = sae.sgd(net, { lr = 0.05, precision = 32 })
opt:step(X)
assert(net:theta():tobytes() == before, "a float step wrote theta before the sync")
assert(opt:sync() == opt)
assert(net:theta():tobytes() ~= before)
local opt64 = sae.sgd(net, { lr = 0.05 })
assert(opt64:precision() == 64 and opt64:sync() == opt64)

-- errors: one line each, at the caller's line
raises("sae.sgd: precision must be 32 or 64 (got 16)", function()
  sae.sgd(ksnet(), { precision = 16 })
end)
raises("precision.lua:109: sae.sgd: precision must be 32 or 64 (got 64.5)", function()
  sae.train(ksnet(), X, { epochs = 1, precision = 64.5, quiet = true }) -- this line
end)
local dense = sae.model(d):add("dense", { name = "enc", n_out = 5 }):add("squared_error"):build()
raises("sae.sgd: precision = 32: node 'enc' (type 'dense') has no float32 path (types with one: ",
       function() sae.sgd(dense, { precision = 32 }) end)
raises("unknown option 'precision'", function() opt:set({ precision = 64 }) end)
print("ok")
