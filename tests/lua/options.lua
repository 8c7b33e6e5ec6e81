-- tests/lua/options.lua -- sae.check_options: the one refusal of unknown
-- option keys that every binding and Lua helper uses.
local sae = require "sae"
local expect = require "expect"

local function helper(o) return sae.check_options(o, "helper", { "alpha", "beta" }) end

-- Known keys pass, and the same table comes back; nil gives an empty table.
local t = { alpha = 2.385 }
assert(helper(t) == t)
assert(next(helper(nil)) == nil)

-- A misspelt key is refused with the known keys listed.
expect.raises("helper: unknown option 'alhpa' (known: alpha, beta)", helper, { alhpa = 1 })
expect.raises("unknown option '1'", helper, { 1 })
expect.raises("helper: options must be a table, got number", helper, 3)

-- The error names the line that called the helper, not the helper itself.
local ok, err = pcall(function()
  helper { gamma = 1 } -- this line
end)
assert(not ok and err:find("options.lua:20:", 1, true), err)

-- The C bindings share it (lbfgs was the first).
local net = sae.model(3)
net:add("dense", { n_out = 2 })
net:add("squared_error")
net:build()
expect.raises("lbfgs: unknown option 'max_iters'", sae.lbfgs, net, sae.matrix(4, 3), { max_iters = 3 })
