--[[
# The 8-3-8 encoder

Rumelhart, Hinton and Williams (1986, "Learning internal representations by
error propagation", in *Parallel Distributed Processing*, vol. 1, ch. 8, the
"encoder problem") trained a network to copy each of 8 one-hot patterns
through a bottleneck of 3 hidden units. Three units can carry 8 patterns only
if they learn something like a binary code: each pattern gets its own corner
of the cube of hidden activations.

The network: 8 inputs, 3 sigmoid hidden units, 8 sigmoid outputs, squared
error, trained by full-batch gradient descent on the 8 patterns.

**Settings.** The classic setting: learning rate eta = 0.3, no momentum,
5000 epochs of full-batch gradient descent (the other classic choice, eta = 1
with momentum 0.8, is compared below). One detail matters for what eta means:
the PDP simulators summed the error over the patterns of an epoch, while
saelab's `squared_error` averages it over the batch by default (so that a
learning rate does not depend on the batch size); we set its `mean = 0` to sum,
as the original did. Weights start uniform in +/- sqrt(6 / (fan_in + fan_out +
1)), biases at zero; the run's seed fixes them.
]]
local sae = require "sae"

local quick = sae.arg("quick", false)     -- a fast run for the test suite
local epochs = sae.arg("epochs", 5000)
local eta = sae.arg("lr", 0.3)
local mu = sae.arg("momentum", 0.0)
local n_seeds = sae.arg("seeds", quick and 4 or 20) -- for the robustness table
local n, n_hid = 8, 3

local X = sae.data.onehot(n)

local function encoder()
  local net = sae.model(n)
  net:add("dense", { n_out = n_hid, name = "enc" })
  net:add("sigmoid", { name = "code" })
  net:add("dense", { n_out = n, name = "dec" })
  net:add("sigmoid", { name = "out" })
  net:add("squared_error", { mean = 0 })
  return net:build()
end

-- The 3-bit code of each pattern (hidden activation > 0.5 reads as 1), how
-- many distinct codes there are, and how many outputs peak on their input.
local function codes_of(net)
  net:forward(X)
  local H, Y = net:output("code"), net:output("out")
  local bits, argmax = H:threshold(0.5), Y:argmax()
  local codes, seen, distinct, correct = {}, {}, 0, 0
  for i = 1, n do
    local b = {}
    for j = 1, n_hid do b[j] = string.format("%d", bits:get(i, j)) end
    codes[i] = table.concat(b)
    if not seen[codes[i]] then distinct, seen[codes[i]] = distinct + 1, true end
    if argmax[i] == i then correct = correct + 1 end
  end
  return { H = H, Y = Y, codes = codes, argmax = argmax, distinct = distinct, correct = correct }
end

local net = encoder()
print(net)

--[[
## Checking the gradient first

Before training, the back-propagated gradient of the whole network is
compared with central differences (GSL's `gsl_deriv_central`) at the initial
weights. UFLDL's measure: ||g_num - g|| / ||g_num + g||.
]]
local gc = net:gradcheck(X)
sae.report.gradcheck(gc, "Gradient check of the 8-3-8 network at its initial weights")

--[[
## Training
]]
local hist = sae.train(net, X, { epochs = epochs, lr = eta, momentum = mu, tol = 1e-3 })
sae.report.metric("epochs_run", #hist.cost)
sae.report.metric("final_cost", hist.cost[#hist.cost])
sae.report.metric("train_seconds", hist.seconds)
sae.plot.curve {
  file = "cost.png",
  series = { { x = hist.epoch, y = hist.cost, title = "cost (summed squared error / 2)" } },
  title = "8-3-8 encoder: training cost", xlabel = "epoch", ylabel = "cost", logy = true,
  caption = "Training cost per epoch (log scale).",
}
sae.report.text(string.format(
  "Training stopped after %d epochs (%s) with cost %.4g, in %.2f s.",
  #hist.cost, hist.stopped == "tol" and "cost below 1e-3" or "epoch limit",
  hist.cost[#hist.cost], hist.seconds))

--[[
## What the network learned

The outputs for the 8 patterns (row i: input pattern i) should be close to
the identity matrix.
]]
local r = codes_of(net)
sae.report.matrix(r.Y, { caption = "Outputs (8 x 8): row i is the response to pattern i", fmt = "%.2f" })

--[[
The hidden activations: each pattern's 3 numbers, and the code they round to
(activation above 0.5 reads as 1). A working encoder gives 8 distinct codes.
]]
local rows = {}
for i = 1, n do
  rows[i] = { i, string.format("%.3f", r.H:get(i, 1)), string.format("%.3f", r.H:get(i, 2)),
              string.format("%.3f", r.H:get(i, 3)), r.codes[i], r.argmax[i] }
end
sae.report.table {
  caption = "Hidden activations and codes",
  header = { "pattern", "h1", "h2", "h3", "code", "argmax of output" },
  rows = rows,
}
local H = r.H
local distinct, correct = r.distinct, r.correct
sae.plot.heatmap(H, { file = "hidden.png", title = "Hidden activations (patterns x units)",
                      caption = "Hidden activations: rows are the 8 patterns, columns the 3 units." })
sae.report.metric("distinct_codes", distinct)
sae.report.metric("argmax_correct", correct)

sae.report.text(string.format(
  "**Result:** %d distinct codes out of 8; %d of 8 outputs have their maximum on the input's unit.",
  distinct, correct))

--[[
## How often does it find a binary code?

A single run shows one outcome. Below, the same network is trained from
different seeds (1, 2, ...) under each classic setting, with the same epoch
budget; a run counts as a success when its 8 codes are distinct and every
output peaks on its own input.
]]
local settings = { { eta = 0.3, mu = 0.0 }, { eta = 1.0, mu = 0.8 }, { eta = 0.3, mu = 0.5 } }
local sweep = {}
for _, st in ipairs(settings) do
  local ok, final = 0, 0
  for seed = 1, n_seeds do
    sae.seed(seed)
    local net_s = encoder()
    local h = sae.train(net_s, X, { epochs = epochs, lr = st.eta, momentum = st.mu, quiet = true })
    local rs = codes_of(net_s)
    if rs.distinct == n and rs.correct == n then ok = ok + 1 end
    final = final + h.cost[#h.cost]
  end
  sweep[#sweep + 1] = { st.eta, st.mu, epochs, string.format("%d / %d", ok, n_seeds),
                        string.format("%.3g", final / n_seeds) }
  sae.report.metric(string.format("success_eta%g_mu%g", st.eta, st.mu), ok / n_seeds)
end
sae.report.table {
  caption = "Runs that learn 8 distinct codes, over seeds 1.." .. n_seeds,
  header = { "eta", "momentum", "epochs", "successes", "mean final cost" },
  rows = sweep,
}

--[[
## Reading the result

When it works, each pattern is sent to its own corner of the unit cube: the 3
hidden units form a binary code of the 8 inputs. Which code a pattern gets is
arbitrary (it depends on the seed); that the codes are distinct is not. The
failures in the table are mostly not failures to reproduce the inputs: the
network often reaches a low cost while one hidden unit settles near 0.5 for
some pattern, an intermediate level the decoder's biases can still read, so
two patterns share a thresholded code. Rumelhart, Hinton and Williams reported
the same use of intermediate values on their encoder problems.
]]

-- The check the test suite relies on: the run's own seed must give a code.
if distinct ~= n or correct ~= n then
  error(string.format("the encoder did not learn a code with seed %d: %d distinct codes, " ..
                      "%d correct outputs", sae.run.seed, distinct, correct))
end
