-- tests/lua/train.lua -- the Lua trainer over SGD steps: minibatches,
-- shuffling, schedules, stopping rules and the history it returns.
local sae = require "sae"

local function net5()
  return sae.model(5):add("dense", { n_out = 3 }):add("sigmoid")
    :add("dense", { n_out = 5 }):add("squared_error"):build()
end
local X = sae.rand(32, 5)

-- minibatch SGD with momentum lowers the cost
local net = net5()
local h = sae.train(net, X, { epochs = 200, batch = 8, lr = 0.5, momentum = 0.9, quiet = true })
assert(#h.cost == 200 and h.stopped == "epochs" and h.seconds >= 0)
assert(h.cost[200] < 0.5 * h.cost[1], string.format("cost %g -> %g", h.cost[1], h.cost[200]))

-- a step schedule halves the learning rate every 10 epochs
h = sae.train(net5(), X, { epochs = 25, lr = 0.4, schedule = { step = 10, factor = 0.5 }, quiet = true })
assert(h.lr[1] == 0.4 and h.lr[11] == 0.2 and h.lr[21] == 0.1)
h = sae.train(net5(), X, { epochs = 3, lr = 1, schedule = function(e, lr0) return lr0 / e end, quiet = true })
assert(h.lr[3] == 1 / 3)

-- stopping rules
h = sae.train(net5(), X, { epochs = 1000, lr = 0.5, tol = 1e9, quiet = true })
assert(h.stopped == "tol" and #h.cost == 1)
h = sae.train(net5(), X, { epochs = 1000, lr = 0.5, quiet = true,
                           on_epoch = function(e) return e == 7 end })
assert(h.stopped == "on_epoch" and #h.cost == 7)

-- the same seed gives the same training
sae.seed(3); local a = sae.train(net5(), X, { epochs = 5, batch = 4, quiet = true })
sae.seed(3); local b = sae.train(net5(), X, { epochs = 5, batch = 4, quiet = true })
assert(a.cost[5] == b.cost[5], "same seed, different costs")

-- errors
local ok, err = pcall(sae.train, net5(), X, { epochs = 2, batch = 0 })
assert(not ok and err:find("batch = 0"))
ok, err = pcall(sae.train, net5(), X, { epochs = 2, lr = -1 })
assert(not ok and err:find("learning rate"))
local linear = sae.model(5):add("dense", { n_out = 5 }):add("squared_error"):build()
ok, err = pcall(sae.train, linear, X, { epochs = 100, lr = 1e3, quiet = true })
assert(not ok and err:find("diverged"), tostring(err))
print("ok")
