-- tests/lua/checkpoint.lua -- stopping a run and going on: the checkpoint
-- file, matrix bytes, the generator's state, the optimiser's velocity, and
-- the trainer resumed mid-run giving the uninterrupted run's numbers.
local sae = require "sae"

local raises = require("expect").raises

local path = os.tmpname() -- an empty file of our own, which the saves replace

-- matrix bytes: a view (row stride wider than its columns) goes out row by
-- row and comes back into a matrix of the same size, bit for bit
local A = sae.rand(5, 7)
local V = A:rowrange(2, 4)
local s = V:tobytes()
assert(#s == 3 * 7 * 8)
local B = sae.matrix(3, 7):frombytes(s)
for i = 1, 3 do for j = 1, 7 do assert(B:get(i, j) == A:get(i + 1, j)) end end
raises("bytes are not the 2x7 matrix's", function() sae.matrix(2, 7):frombytes(s) end)

-- the generator's state: what is drawn after a restore is what was drawn
-- after the save
local st = sae.rng_state()
local first = sae.randperm(10)
sae.randperm(10)
sae.rng_restore(st)
local again = sae.randperm(10)
for i = 1, 10 do assert(first[i] == again[i]) end
raises("not a state of the", function() sae.rng_restore("nonsense") end)
raises("state is", function() sae.rng_restore(st:sub(1, -2)) end)

-- the checkpoint file: every kind of value back exactly, long strings
-- raw, nothing but data
local state = { x = 0.1, tiny = 5e-324, neg = -0.0, big = 2^60, inf = math.huge, n = 3,
                flag = true, name = "k = 25\n\0\"", list = { 1, 2.5, "three" },
                blob = A:tobytes(), rng = st, nested = { deeper = { blob = s } } }
sae.checkpoint.save(path, state)
local back = sae.checkpoint.load(path)
assert(back.x == 0.1 and back.tiny == 5e-324 and 1 / back.neg == -math.huge)
assert(back.big == 2^60 and math.type(back.big) == "float" and math.type(back.n) == "integer")
assert(back.inf == math.huge and back.flag == true and back.name == state.name)
assert(back.list[1] == 1 and back.list[2] == 2.5 and back.list[3] == "three")
assert(back.blob == state.blob and back.rng == st and back.nested.deeper.blob == s)
assert(sae.checkpoint.load(path .. ".none") == nil)
raises("cannot be saved", function() sae.checkpoint.save(path, { f = print }) end)
local f = assert(io.open(path, "rb"))
local text = f:read("a")
f:close()
f = assert(io.open(path, "wb"))
f:write(text:sub(1, #text - 10))
f:close()
raises("damaged checkpoint", function() sae.checkpoint.load(path) end)
f = assert(io.open(path, "wb"))
f:write("return os.exit(3)\n")
f:close()
raises("not a saelab checkpoint", function() sae.checkpoint.load(path) end)

-- the trainer resumed: 6 epochs straight, against 3, a checkpoint (theta,
-- velocity, generator), a fresh model and optimiser, then epochs 4 to 6
local function net5()
  return sae.model(5):add("dense", { n_out = 3 }):add("sigmoid")
    :add("dense", { n_out = 5 }):add("squared_error"):build()
end
local X = sae.rand(40, 5)
local opts = { epochs = 6, batch = 8, lr = 0.3, momentum = 0.9, quiet = true }
sae.seed(11)
local straight = net5()
local h = sae.train(straight, X, opts)

sae.seed(11)
local part = net5()
opts.on_epoch = function(e, _, _, opt)
  if e == 3 then
    sae.checkpoint.save(path, { theta = part:theta():tobytes(), v = opt:velocity():tobytes(),
                                rng = sae.rng_state() })
    return true
  end
end
sae.train(part, X, opts)
sae.rand(3, 3) -- the generator moves on, as a new process's would differ
local saved = sae.checkpoint.load(path)
local resumed = net5()
resumed:theta():frombytes(saved.theta)
opts.on_epoch, opts.first_epoch = nil, 4
opts.on_start = function(opt)
  opt:velocity():frombytes(saved.v)
  sae.rng_restore(saved.rng)
end
local h2 = sae.train(resumed, X, opts)
assert(#h2.cost == 3 and h2.epoch[1] == 4 and h2.epoch[3] == 6)
for i = 1, 3 do
  assert(h2.cost[i] == h.cost[i + 3], string.format("epoch %d: %.17g against %.17g", i + 3,
                                                    h2.cost[i], h.cost[i + 3]))
end
local t1, t2 = straight:theta(), resumed:theta()
for i = 1, t1:rows() do assert(t1:get(i, 1) == t2:get(i, 1)) end
raises("first_epoch", function() sae.train(net5(), X, { epochs = 2, first_epoch = 0 }) end)
os.remove(path)
print("checkpoint: ok")
