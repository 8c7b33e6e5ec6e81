-- tests/lua/model.lua -- the model API from Lua: building, ties, outputs,
-- encode/decode, hyper-parameters, gradient checks, and errors raised as
-- Lua errors that name the problem.
local sae = require "sae"

local raises = require("expect").raises

-- the type list knows every core type, with hyper-parameter tables
local names = {}
for _, t in ipairs(sae.types()) do names[t.name] = t end
for _, n in ipairs { "dense", "sigmoid", "tanh", "relu", "identity", "squared_error",
                     "cross_entropy", "l2", "l1" } do
  assert(names[n], "type " .. n .. " not registered")
end
assert(names.dense.hparams[1].name == "n_out" and names.dense.kind == "layer")
assert(names.l2.kind == "regularizer")

-- a tied 6-4-6 autoencoder with weight decay
local net = sae.model(6)
net:add("dense", { n_out = 4, name = "enc" })
net:add("sigmoid", { name = "code" })
net:add("dense", { n_out = 6, tie = "enc", name = "dec" })
net:add("sigmoid", { name = "out" })
net:add("cross_entropy")
net:add("l2", { lambda = 0.01 })
raises("not built", function() net:nparams() end)
net:build()
assert(net:nparams() == 6 * 4 + 4 + 6, "tied model has " .. net:nparams() .. " parameters")
assert(#net:nodes() == 6 and net:nodes()[3].input == "code")
assert(tostring(net):find("enc: dense"))

local X = sae.rand(10, 6, { a = 0.1, b = 0.9 })
local c = net:eval(X)
assert(c > 0 and c == c)
local g = net:grad()
assert(g:rows() == net:nparams() and g:norm() > 0)
local gc = net:gradcheck(X)
assert(gc.passed, "model gradcheck: " .. gc.rel_error)

-- the tied decoder really uses the encoder's W: changing enc.W changes the output
local W = net:param("enc", "W")
assert(W:rows() == 4 and W:cols() == 6) -- a row per unit: tests/lua/orientation.lua
local Z = net:encode(X)
assert(Z:rows() == 10 and Z:cols() == 4)
local Y1 = net:decode(Z)
net:forward(X)
assert(Y1:equal(net:output("out"), 1e-14), "decode(encode(X)) differs from forward")
W:set(1, 1, W:get(1, 1) + 0.5)
assert(not net:decode(Z):equal(Y1, 1e-6), "the tied decoder did not see the change")

-- hyper-parameters after build
net:set("l2_6", "lambda", 0.5)
assert(net:get(6, "lambda") == 0.5)
raises("cannot change after build", function() net:set("enc", "n_out", 3) end)
raises("outside", function() net:set(6, "lambda", -1) end)
raises("has no hyper-parameter 'k'", function() net:get("enc", "k") end)
raises("no node named \"nosuch\"", function() net:output("nosuch") end)

-- errors from bad wiring and data
raises("no earlier node has that name", function() sae.model(3):add("dense", { input = "zz" }) end)
raises("must be a node name", function() sae.model(3):add("dense", { tie = 3 }) end)
raises("hyper-parameter 'n_out' must be a number", function() sae.model(3):add("dense", { n_out = "x" }) end)
raises("input has 5 columns, the model expects 6", function() net:eval(sae.rand(2, 5)) end)
raises("target has 3 rows", function() net:eval(X, { target = sae.rand(3, 6) }) end)
raises("labels has 2 entries", function() net:eval(X, { labels = { 1, 2 } }) end)

-- a per-type gradient check from Lua
local r = sae.gradcheck("tanh")
assert(r.passed and r.rel_error < 1e-9)
raises("unknown type 'nosuch'", function() sae.gradcheck("nosuch") end)
-- a view of a closed model's parameters is refused, not read after free
do
  local m2 <close> = sae.model(3):add("dense", { n_out = 2 }):build()
  local th = m2:theta()
  getmetatable(m2).__close(m2)
  raises("closed", function() return th:sum() end)
end

-- reconstruction error: summed squared error and FVU against the column means
do
  local X, Y = sae.matrix { { 0, 0 }, { 2, 2 } }, sae.matrix { { 0, 1 }, { 2, 2 } }
  local sse, fvu = sae.reconstruction_error(X, Y)
  assert(sse == 1 and fvu == 0.25, "reconstruction_error: " .. sse .. ", " .. fvu)
  raises("shapes 2x2 and 1x2 differ", sae.reconstruction_error, X, Y:rowrange(1, 1))
end

-- sae.sgd(net) without options: the defaults (lr 0.1, momentum 0).  The
-- optimiser's own userdata once sat where the options go and was refused.
do
  local net = sae.model(3)
  net:add("dense", { n_out = 3 })
  net:add("squared_error")
  net:build()
  local opt = sae.sgd(net)
  assert(opt:lr() == 0.1, "sae.sgd(net): lr " .. opt:lr())
  assert(opt:step(sae.matrix{ { 0.5, 2.385, -1 } }) > 0)
end
print("ok")
