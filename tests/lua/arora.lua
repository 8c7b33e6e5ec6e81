-- tests/lua/arora.lua -- net:update and net:project from Lua, on the arora type:
-- the hand-computed step of tests/check_arora.c through the bindings, unit
-- atoms after project(), a model without update() rules, and errors.
local sae = require "sae"

local expect = require "expect"
local raises, near = expect.raises, expect.near

-- the 2-example, 3-input, 2-atom case (check_arora.c has the arithmetic)
local net = sae.model(3)
net:add("arora", { name = "code", n_hid = 2, tau = 0.5, renorm = 0 })
net:add("dense", { name = "dec", n_out = 3, bias = 0, tie = "code" }) -- monitor: x^ = z W
net:add("squared_error")
raises("not built", function() net:update(sae.zeros(2, 3), 0.1) end)
net:build()
assert(net:nparams() == 6)
local W = net:param("code", "W")
for j = 1, 2 do near(W:row(j):norm(), 1, 1e-14, "init() norm of atom " .. j) end
local W0 = sae.matrix { { 0.6, 0.8, 0 }, { 0, 0.6, -0.8 } }
W:fill(0):add(W0)
local X = sae.matrix { { 1.5, 2.0, 0.5 }, { -0.5, 0.3, 1.2 } }

local n, cost = net:update(X, 0.4)
assert(n == 1, "nodes updated: " .. tostring(n))
near(cost, (0.2304 + 1.2996 + 0.25 + 0.589824 + 0.331776) / 4, 1e-12, "cost before the step")
local want = sae.matrix { { 0.6, 0.704, 0.228 }, { 0.1, 0.3504, -0.6872 } }
assert(W:equal(want, 1e-12), "W after net:update:\n" .. tostring(W))
assert(net:output("code"):equal(sae.matrix { { 2.5, 0.8 }, { 0, -0.78 } }, 1e-12))

-- project(): renorm = 0 leaves the norms; renorm = 1 makes them 1
local before = W:copy()
assert(net:project() == net)
assert(W:equal(before, 0))
net:set("code", "renorm", 1)
net:project()
for j = 1, 2 do near(W:row(j):norm(), 1, 1e-14, "projected norm of atom " .. j) end

-- the rule runs in train mode only, with the batch's own checks
raises("train mode", function() net:update(X, 0.4, { mode = "eval" }) end)
raises("columns", function() net:update(sae.zeros(2, 4), 0.4) end)
raises("eta = -1", function() net:update(X, -1) end)
raises("number expected", function() net:update(X) end)

-- a model without update() rules: nothing updated, parameters unchanged
local plain = sae.model(3)
plain:add("dense", { n_out = 2 }):add("sigmoid"):build()
local theta = plain:theta():copy()
local n0 = plain:update(X, 0.4)
assert(n0 == 0 and plain:theta():equal(theta, 0))
assert(plain:project() == plain)
