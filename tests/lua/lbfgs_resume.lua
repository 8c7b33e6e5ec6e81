-- tests/lua/lbfgs_resume.lua -- sae.lbfgs's checkpoint: a run saved after
-- iteration 12 and resumed gives the uninterrupted run's iterates bit for
-- bit; a finished run's checkpoint returns its result; every bad checkpoint
-- (another run's, a sae.train one, a damaged state) is refused in one line.
-- (tests/resume.test kills real runs; this one stops in-process.)
local sae = require "sae"
local expect = require "expect"

local X = sae.rand(50, 6)
local function net()
  return sae.model(6):add("dense", { n_out = 4 }):add("sigmoid"):add("kl", { rho = 0.1, beta = 3 })
    :add("dense", { n_out = 6 }):add("squared_error"):build()
end
local OPTS = { max_iter = 40, m = 4, past = 3, delta = 1e-9, verbose = false }
local function with(extra)
  local o = {}
  for k, v in pairs(OPTS) do o[k] = v end
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end
local function same_theta(a, b)
  local ta, tb = a:theta(), b:theta()
  for i = 1, ta:rows() do
    if string.pack("<d", ta:get(i, 1)) ~= string.pack("<d", tb:get(i, 1)) then return false end
  end
  return true
end

local init = net():theta():tobytes()
local straight = net()
straight:theta():frombytes(init)
local h = sae.lbfgs(straight, X, OPTS)
assert(#h.iter == 40, "a long enough run: " .. #h.iter)

-- the state after iteration 12, kept aside (as a kill would leave it)
local function fresh_path() -- a name of our own, with no file (an empty file is no checkpoint)
  local p = os.tmpname()
  os.remove(p)
  return p
end
local path, early = fresh_path(), fresh_path()
local save = sae.checkpoint.save
sae.checkpoint.save = function(p, state)
  save(p, state)
  if state.state and state.state.k == 13 then save(early, state) end
end
local whole = net()
whole:theta():frombytes(init)
local hw = sae.lbfgs(whole, X, with { checkpoint = path, signature = "t" })
sae.checkpoint.save = save
assert(same_theta(straight, whole) and #hw.iter == 40)
for i = 1, 40 do assert(hw.cost[i] == h.cost[i] and hw.evals[i] == h.evals[i]) end

-- resumed from iteration 12: a fresh model, the same 40 iterations
local f = assert(io.open(early, "rb"))
local early_bytes = f:read("a")
f:close()
local function put_early(state) -- the iteration-12 checkpoint again (or a changed copy)
  if state then sae.checkpoint.save(early, state) return end
  f = assert(io.open(early, "wb"))
  f:write(early_bytes)
  f:close()
end
local resumed = net()
local hr = sae.lbfgs(resumed, X, with { checkpoint = early, signature = "t" })
assert(hr.resumed_from == 12, tostring(hr.resumed_from))
assert(same_theta(straight, resumed), "theta after resuming")
assert(#hr.iter == 40 and hr.n_evals == h.n_evals and hr.status == h.status)
for i = 1, 40 do
  assert(string.pack("<d", hr.cost[i]) == string.pack("<d", h.cost[i]), "cost " .. i)
  assert(hr.gnorm[i] == h.gnorm[i] and hr.step[i] == h.step[i] and hr.iter[i] == i)
end
assert(hr.initial_cost == h.initial_cost and hr.final_cost == h.final_cost)

-- finished: the saved result, theta put back
local again = net()
local ha = sae.lbfgs(again, X, with { checkpoint = path, signature = "t" })
assert(same_theta(straight, again) and ha.final_cost == h.final_cost and ha.resumed_from == 40)

-- refused
expect.raises("checkpoint of another run (t)", sae.lbfgs, net(), X,
              with { checkpoint = path, signature = "other" })
expect.raises("checkpoint_every = 0 must be a whole number >= 1", sae.lbfgs, net(), X,
              with { checkpoint = path, checkpoint_every = 0 })
local trained = fresh_path()
sae.train(net(), X, { epochs = 1, quiet = true, checkpoint = trained })
expect.raises("is a checkpoint of sae.train, not of sae.lbfgs", sae.lbfgs, net(), X,
              with { checkpoint = trained })
expect.raises("is a checkpoint of sae.lbfgs, not of sae.train", sae.train, net(), X,
              { epochs = 1, checkpoint = path, signature = "t" })
put_early()
expect.raises("resume: m must be a whole number in [5, 5]", sae.lbfgs, net(), X,
              with { checkpoint = early, signature = "t", m = 5 })
local st = sae.checkpoint.decode(early_bytes)
st.state.s = st.state.s:sub(9)
put_early(st)
expect.raises("resume: s must be 232 doubles as bytes", sae.lbfgs, net(), X,
              with { checkpoint = early, signature = "t" })
for _, p in ipairs { path, early, trained } do os.remove(p) end
print("lbfgs_resume: ok")
