--[[
# Report smoke test

PROSE-ONE: this paragraph opens the report; it must come before the table.
]]
-- Run as `saelab run tests/lua/report.lua --out DIR [--seed N] [epochs=N]`;
-- tests/report.test checks what lands in DIR.  The markers (PROSE-ONE, ...)
-- let the check find each piece and its order.

local sae = require "sae"
local report, plot = sae.report, sae.plot

local epochs = sae.arg("epochs", 12) -- also recorded as a parameter
report.param("beta", 2.385)

--[==[
## Numbers

PROSE-TWO: a level-2 block comment, still before the table.  It may hold
`]]` without ending.
]==]

local rows, cost = {}, {}
for t = 1, epochs do
  cost[t] = 2.385 * math.exp(-0.4 * t) + 0.01
  rows[#rows + 1] = {t, cost[t], t % 2 == 0 and "even" or "odd"}
end
report.table{caption = "TABLE-ONE cost per epoch", header = {"epoch", "cost", "parity"},
             rows = rows}
report.metric("final_cost", cost[epochs])
report.metric("cost_curve", cost)
report.metric("note", "a \"quoted\"\tstring\n")
report.metric("diverged", false)
report.metric("nan_is_null", 0 / 0)

--[[
PROSE-THREE: between the table and the figure.
]]

plot.curve{file = "cost.png", series = {{y = cost, title = "train 'cost'"}},
           title = "Cost", xlabel = "epoch", ylabel = "cost", logy = true,
           caption = "FIGURE-ONE cost per epoch"}

report.text("TEXT-ONE emitted after the figure.")

--[[
PROSE-FOUR: the last words, after everything emitted.
]]
