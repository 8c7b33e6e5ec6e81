-- tests/resume/train_both.lua -- a small real training run for tests/resume.test:
-- sae.train (minibatch SGD with momentum and shuffling) on 400 examples,
-- then sae.lbfgs (a KL-sparse autoencoder) on them, each with a checkpoint
-- after every epoch / iteration.  Prints every cost and every parameter as
-- hexadecimal floats: a resumed run must print the same lines.
--   saelab run tests/resume/train_both.lua --out DIR --seed 7 checkpoint=PREFIX [phase=train]
-- phase: "train", "lbfgs" or "both" (default).
local sae = require "sae"

local ck = sae.arg("checkpoint", "")
local phase = sae.arg("phase", "both")
local epochs = sae.arg("epochs", 400)
local iters = sae.arg("iters", 800)
assert(phase == "train" or phase == "lbfgs" or phase == "both", "phase: train, lbfgs or both")
local function path(p) return ck ~= "" and (ck .. "-" .. p .. ".ck") or nil end
local function theta_line(net)
  local t, parts = net:theta(), {}
  for i = 1, t:rows() do parts[i] = string.format("%a", t:get(i, 1)) end
  return table.concat(parts, " ")
end

local X = sae.rand(400, 32)
if phase ~= "lbfgs" then
  local net = sae.model(32):add("dense", { n_out = 16 }):add("sigmoid")
    :add("dense", { n_out = 32 }):add("squared_error"):build()
  local h = sae.train(net, X, { epochs = epochs, batch = 10, lr = 0.2, momentum = 0.9, quiet = true,
                                checkpoint = path("train"), signature = "train_both sgd" })
  if h.resumed_from then io.stderr:write("resumed sae.train after epoch ", h.resumed_from, "\n") end
  for i = 1, #h.cost do print(string.format("train %d %a %a", h.epoch[i], h.cost[i], h.lr[i])) end
  print("train theta " .. theta_line(net))
end
if phase ~= "train" then
  local net = sae.model(32):add("dense", { n_out = 16 }):add("sigmoid")
    :add("kl", { rho = 0.05, beta = 3 }):add("dense", { n_out = 32 }):add("squared_error"):build()
  local h = sae.lbfgs(net, X, { max_iter = iters, m = 5, past = 4, delta = 1e-12, verbose = false,
                                checkpoint = path("lbfgs"), signature = "train_both lbfgs" })
  if h.resumed_from then io.stderr:write("resumed sae.lbfgs after iteration ", h.resumed_from, "\n") end
  for i = 1, #h.cost do
    print(string.format("lbfgs %d %a %a %a %d", h.iter[i], h.cost[i], h.gnorm[i], h.step[i], h.evals[i]))
  end
  print(string.format("lbfgs status %s evals %d initial %a final %a", h.status, h.n_evals,
                      h.initial_cost, h.final_cost))
  print("lbfgs theta " .. theta_line(net))
end
