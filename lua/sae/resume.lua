-- sae.resume: one way for every experiment to take checkpoint=PREFIX, so that
-- a run killed at any moment and started again with the same command goes
-- on where it was and prints the uninterrupted run's numbers.
--
--   local rs = sae.resume                 -- the script argument checkpoint=PREFIX
--   sae.train(net, X, { ..., checkpoint = rs.path("pre"), signature = rs.signature("pre") })
--   sae.lbfgs(net, X, { ..., checkpoint = rs.path("ae"), signature = rs.signature("ae") })
--   local r = rs.phase("dictionary", { net }, function() ... return { errors = e } end)
--
-- rs.path(name) is PREFIX-name.ck (nil without checkpoint=, so the options
-- are then absent).  rs.signature(name) names what decides the run's
-- numbers: the script, the seed and every other script argument; a
-- checkpoint written under another is refused.  rs.phase runs a step that
-- is not a sae.train / sae.lbfgs call (a hand-written loop, an evaluation)
-- once: its file keeps the listed models' parameters, the generator's state
-- and fn's result (numbers, strings, booleans and tables of them); a rerun
-- puts them back and returns the result without running fn.  A phase must
-- change nothing else the rest of the script reads.  Killed inside a phase,
-- the rerun runs the phase again from its start, which, with everything
-- before it restored, computes the same numbers.
local core = require "sae.core"
local caller = require "sae.caller"
local checkpoint = require "sae.checkpoint"

local M = {}

local prefix -- read once, on first use (sae.arg records it among the run's parameters)
local function get_prefix()
  if prefix == nil then
    local sae = require "sae"
    prefix = sae.arg("checkpoint", "")
  end
  return prefix
end

-- The checkpoint=PREFIX argument, "" when absent.
function M.prefix() return get_prefix() end

function M.path(name)
  if type(name) ~= "string" or name == "" then caller.error("sae.resume.path: a name expected") end
  local p = get_prefix()
  return p ~= "" and (p .. "-" .. name .. ".ck") or nil
end

function M.signature(name)
  local run = (require "sae").run
  local args, keys = run.args or {}, {}
  for k in pairs(args) do
    if k ~= "checkpoint" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = k .. "=" .. tostring(args[k]) end
  local script = tostring(run.script or "?"):match("([^/\\]*)$")
  return string.format("%s %s seed %s [%s]", script, tostring(name), tostring(run.seed),
                       table.concat(parts, " "))
end

function M.phase(name, nets, fn)
  if type(nets) ~= "table" or type(fn) ~= "function" then
    caller.error("sae.resume.phase(name, {nets...}, fn) expected")
  end
  local path = M.path(name)
  if not path then return fn() end
  local signature = M.signature(name)
  local saved = checkpoint.load(path)
  if saved then
    if saved.kind ~= "phase" or saved.signature ~= signature then
      caller.error(string.format("sae.resume.phase: %s is a checkpoint of another run (%s); "
                                 .. "delete it or name another", path, tostring(saved.signature)))
    end
    if #saved.theta ~= #nets then
      caller.error(string.format("sae.resume.phase: %s holds %d models, the phase has %d",
                                 path, #saved.theta, #nets))
    end
    for i, net in ipairs(nets) do caller.call(net:theta().frombytes, net:theta(), saved.theta[i]) end
    core.rng_restore(saved.rng)
    return saved.result
  end
  local result = fn()
  local theta = {}
  for i, net in ipairs(nets) do theta[i] = net:theta():tobytes() end
  checkpoint.save(path, { kind = "phase", signature = signature, theta = theta,
                          rng = core.rng_state(), result = result })
  return result
end

return M
