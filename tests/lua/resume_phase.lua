-- tests/lua/resume_phase.lua -- sae.resume: checkpoint=PREFIX's paths and
-- signatures, and a phase run once: rerun, its models, the generator and
-- its result come back without running it; another run's file is refused.
local sae = require "sae"
local expect = require "expect"

-- no checkpoint= argument: no paths, and a phase is just its function
assert(sae.resume.path("x") == nil)
local calls = 0
assert(sae.resume.phase("x", {}, function() calls = calls + 1 return 5 end) == 5 and calls == 1)

-- the same module with checkpoint=PREFIX (as `saelab run ... checkpoint=PREFIX` gives)
local prefix = os.tmpname()
os.remove(prefix)
package.loaded["sae.resume"] = nil
sae.run.args = sae.run.args or {}
sae.run.args.checkpoint = prefix
local rs = require "sae.resume"
assert(rs.prefix() == prefix and rs.path("pre") == prefix .. "-pre.ck")
expect.raises("a name expected", rs.path, "")
assert(rs.signature("pre"):find("pre seed", 1, true))

local function net()
  return sae.model(3):add("dense", { n_out = 3 }):add("squared_error"):build()
end
local a = net()
local function phase()
  calls = calls + 1
  a:param(1, "W"):fill(2.5)
  local p = sae.randperm(6)
  return { perm = p, note = "done" }
end
calls = 0
local r1 = rs.phase("warm", { a }, phase)
local after = sae.randperm(6) -- what the generator gives once the phase is over
assert(calls == 1 and r1.note == "done")

local b = net() -- a fresh model and a moved generator, as in a rerun
sae.randperm(3)
local r2 = rs.phase("warm", { b }, phase)
assert(calls == 1, "the phase ran again")
assert(r2.note == "done" and #r2.perm == 6)
for i = 1, 6 do assert(r2.perm[i] == r1.perm[i]) end
assert(b:param(1, "W"):get(1, 1) == 2.5, "the model's parameters came back")
local again = sae.randperm(6)
for i = 1, 6 do assert(again[i] == after[i], "the generator came back") end

expect.raises("holds 1 models, the phase has 2", rs.phase, "warm", { b, a }, phase)
-- another run's file (a sae.train checkpoint under the phase's name)
sae.train(net(), sae.rand(4, 3), { epochs = 1, quiet = true, checkpoint = rs.path("other") })
expect.raises("is a checkpoint of another run", rs.phase, "other", { a }, phase)
expect.raises("cannot be saved", rs.phase, "bad", {}, function() return { f = print } end)
expect.raises("sae.resume.phase(name, {nets...}, fn) expected", rs.phase, "warm", a, phase)
for _, n in ipairs { "warm", "other", "bad" } do os.remove(rs.path(n)) end
print("resume_phase: ok")
