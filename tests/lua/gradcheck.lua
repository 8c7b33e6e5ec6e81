-- tests/lua/gradcheck.lua -- gradient checks from Lua: the model check's
-- tolerance option (honoured, and its option table strict), the worst entry
-- named in the result, the two parts of a type's check, and
-- sae.report.gradcheck's tolerance and failure message.
local sae = require "sae"
local raises = require("expect").raises

-- a tied 6-4-6 autoencoder with weight decay: relative error ~1e-11
local net = sae.model(6)
net:add("dense", { n_out = 4, name = "enc" })
net:add("sigmoid", { name = "code" })
net:add("dense", { n_out = 6, tie = "enc", name = "dec" })
net:add("sigmoid", { name = "out" })
net:add("cross_entropy")
net:add("l2", { lambda = 0.01 })
net:build()
local X = sae.rand(10, 6, { a = 0.1, b = 0.9 })

-- default tolerance, then the caller's: the same check passes at 1e-6 and
-- fails at 1e-14 (central differences' rounding alone is above that)
local gc = net:gradcheck(X)
assert(gc.passed and gc.tol == 1e-9, "default: " .. gc.message)
gc = net:gradcheck(X, { tol = 1e-6 })
assert(gc.passed and gc.tol == 1e-6, "tol = 1e-6: " .. gc.message)
local bad = net:gradcheck(X, { tol = 1e-14 })
assert(not bad.passed and bad.tol == 1e-14, "tol = 1e-14 passed: " .. bad.rel_error)
-- the batch options still reach the check beside tol
assert(net:gradcheck(X, { tol = 1e-6, target = X, mode = "train" }).passed)

-- the option table is strict, and tol must be a positive number
raises("net:gradcheck: unknown option 'tolerance' (known: target, labels, mode, tol)",
       function() net:gradcheck(X, { tolerance = 1e-8 }) end)
raises("net:gradcheck: tol must be a number > 0, got -1", function() net:gradcheck(X, { tol = -1 }) end)
raises("tol must be a number > 0, got big", function() net:gradcheck(X, { tol = "big" }) end)

-- the worst entry: a parameter of the model (the tied W is enc's), 1-based
local w = bad.where
assert(w.node == "enc" or (w.node == "dec" and w.tensor == "b"), bad.message)
assert(w.tensor == "W" or w.tensor == "b", bad.message)
assert(w.row >= 1 and w.col >= 1 and w.analytic == w.analytic and w.numeric == w.numeric)
assert(bad.message:find("^" .. w.node .. ": grad " .. w.tensor .. "%[" .. w.row .. "," .. w.col .. "%] analytic "),
       bad.message)
assert(bad.part == "cost" and bad.cost_rel_error == bad.rel_error and bad.output_rel_error == nil)

-- a type's check: its own cost term and its output apart, both passing, at
-- the default weight and a tiny one
for _, lambda in ipairs { 1e-3, 1e-7 } do
  local r = sae.gradcheck("l1", { lambda = lambda })
  assert(r.passed and r.cost_rel_error < 1e-6 and r.output_rel_error < 1e-6,
         "l1 at " .. lambda .. ": " .. r.message)
  assert(r.where.node == "l1" and r.where.tensor == "x", r.message)
end

-- sae.report.gradcheck: judged at gc.tol, or at its own tol option; a failure
-- names the worst entry; unknown options refused
sae.report.gradcheck(gc, "Gradient check at 1e-6")
sae.report.gradcheck(bad, "Gradient check, judged at 1e-6", { tol = 1e-6 })
raises("gradient check failed: relative error", function() sae.report.gradcheck(bad) end)
raises("; worst " .. bad.message, function() sae.report.gradcheck(bad) end)
raises("worst", function() sae.report.gradcheck(gc, nil, { tol = 1e-14 }) end)
raises("sae.report.gradcheck: unknown option 'tolerance' (known: tol)",
       function() sae.report.gradcheck(gc, nil, { tolerance = 1 }) end)
raises("sae.report.gradcheck: tol must be a number > 0", function() sae.report.gradcheck(gc, nil, { tol = 0 }) end)
