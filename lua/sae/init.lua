-- sae: the module experiments use (`local sae = require "sae"`).
--
-- The C core ("sae.core": matrices, models, optimisers, plots) plus the pure-Lua
-- helpers: the trainer (sae.train), the literate report (sae.report, sae.plot)
-- and script arguments (sae.arg).
local core = require "sae.core"
local report = require "sae.report"
local trainer = require "sae.trainer"
local caller = require "sae.caller"

local sae = {}
-- core.internal: what lua/sae/ wraps (sae.lbfgs, sae.checkpoint.encode...)
local NOT_COPIED = { run = true, internal = true }
for k, v in pairs(core) do
  if not NOT_COPIED[k] then sae[k] = v end
end

sae.report = report
sae.plot = report.plot
sae.train = trainer.train
sae.data = require "sae.data"
sae.data.onehot = core.onehot
for _, name in ipairs { "idx_images", "idx_labels", "image_f32be", "png", "mat", "whiten",
                        "scale_variance", "patches", "normalize_patches" } do
  sae.data[name] = core[name]
end
sae.softmax_regression = require("sae.eval").softmax_regression
sae.score = require("sae.eval").score
sae.predict = require("sae.eval").predict
sae.reconstruction_error = require("sae.eval").reconstruction_error
sae.models = require "sae.models"
sae.checkpoint = require "sae.checkpoint"
sae.resume = require "sae.resume"
sae.topography = require "sae.topography"
sae.latinh = require "sae.latinh"
sae.gradcheck = core.gradcheck_type
sae.lbfgs = trainer.lbfgs

-- What the runtime knows of this run (script, seed, out, versions...); a
-- script run outside `saelab run` (a test harness) gets an empty record.
sae.run = core.run or { args = {}, seed = 0 }
local used = {}

-- sae.arg(name, default): the script argument `name=value` from the command
-- line, converted to the type of default (number, boolean or string), and
-- recorded among the run's parameters.
function sae.arg(name, default)
  local raw = sae.run.args and sae.run.args[name]
  used[name] = true
  local value = default
  if raw ~= nil then
    local kind = type(default)
    if kind == "number" then
      value = tonumber(raw)
      if value == nil then
        caller.error(string.format("script argument %s=%s: a number expected", name, raw))
      end
    elseif kind == "boolean" then
      if raw == "1" or raw == "true" or raw == "yes" then value = true
      elseif raw == "0" or raw == "false" or raw == "no" then value = false
      else
        caller.error(string.format("script argument %s=%s: true or false expected", name, raw))
      end
    else
      value = raw
    end
  end
  report.param(name, value)
  return value
end

-- Called by the runtime once the script returned: warn about arguments the
-- script never read (a typo would otherwise pass silently), write the report.
function sae.finish()
  local unused = {}
  for k in pairs(sae.run.args or {}) do
    if not used[k] then unused[#unused + 1] = k end
  end
  table.sort(unused)
  if #unused > 0 then
    io.stderr:write("saelab: warning: script arguments never read: ",
                    table.concat(unused, ", "), "\n")
  end
  report.finish()
end

return sae
