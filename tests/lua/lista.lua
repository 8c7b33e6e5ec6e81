-- tests/lua/lista.lua -- the LISTA / DrSAE types from Lua: lista's forward
-- against the recurrence written out with matrices, l2norm, the norm bounds
-- (lista's max_norm, dense's max_norm on rows or columns), sgd's lr_scale,
-- sae.train's checkpoint and resume, and the bad-input errors.
local sae = require "sae"
local expect = require "expect"
local raises, near = expect.raises, expect.near

-- ---- lista's forward is the recurrence z = h_b(x We^T + z Sl^T), T times ----
local function relu_shrink(V, b, nonneg)
  local Z = V:copy()
  for i = 1, V:rows() do
    for j = 1, V:cols() do
      local v, t = V:get(i, j), b:get(1, j)
      local z
      if nonneg then z = v > t and v - t or 0
      else z = v > t and v - t or (v < -t and v + t or 0) end
      Z:set(i, j, z)
    end
  end
  return Z
end
for _, shrink in ipairs { 0, 1 } do
  for _, T in ipairs { 1, 3 } do
    local net = sae.model(5)
    net:add("lista", { name = "enc", n_hid = 4, T = T, shrink = shrink })
    net:build()
    local X = sae.rand(3, 5, { a = -1, b = 1 })
    local We, Sl, b = net:param("enc", "We"), net:param("enc", "Sl"), net:param("enc", "b")
    local B = X * We:t()
    local Z = relu_shrink(B, b, shrink == 1)
    for _ = 2, T do Z = relu_shrink(B + Z * Sl:t(), b, shrink == 1) end
    net:forward(X)
    assert(net:output("enc"):equal(Z, 1e-12), "lista forward, shrink " .. shrink .. " T " .. T)
  end
end

-- ---- l2norm: unit rows ----
do
  local net = sae.model(4):add("l2norm", { name = "n" }):build()
  net:forward(sae.matrix { { 3, 4, 0, 0 }, { 1, 1, 1, 1 } })
  local Y = net:output("n")
  near(Y:get(1, 1), 0.6, 1e-8, "l2norm")
  near(Y:row(2):norm(), 1, 1e-8, "l2norm row norm")
end

-- ---- the norm bounds: project() ----
do
  local net = sae.model(6)
  net:add("lista", { name = "enc", n_hid = 5, T = 2, max_norm = 0.25 })
  net:add("dense", { name = "cls", n_out = 3, max_norm = 0.5 })               -- rows
  net:add("dense", { name = "dec", n_out = 6, max_norm = 0.7, norm_axis = 1 }) -- columns
  net:add("squared_error")
  net:build()
  net:param("enc", "We"):fill(1)
  net:param("cls", "W"):fill(2)
  net:param("dec", "W"):fill(3)
  net:project()
  local We, C, D = net:param("enc", "We"), net:param("cls", "W"), net:param("dec", "W")
  for j = 1, 5 do near(We:row(j):norm(), 0.25, 1e-12, "We row") end
  for j = 1, 3 do near(C:row(j):norm(), 0.5, 1e-12, "classifier row") end
  for j = 1, 3 do near(D:col(j):norm(), 0.7, 1e-12, "decoder column") end
  -- a row already inside the ball is left alone
  C:set(1, 1, 0.1); C:set(1, 2, 0); C:set(1, 3, 0); C:set(1, 4, 0); C:set(1, 5, 0)
  net:project()
  near(C:get(1, 1), 0.1, 0, "inside the ball")
  -- an SGD step projects too
  local opt = sae.sgd(net, { lr = 10 })
  opt:step(sae.rand(4, 6))
  for j = 1, 5 do assert(We:row(j):norm() <= 0.25 + 1e-12, "We row after a step") end
  for j = 1, 3 do assert(D:col(j):norm() <= 0.7 + 1e-12, "decoder column after a step") end
end

-- ---- lr_scale: each tensor's step is lr * c * gradient ----
do
  local net = sae.model(6)
  net:add("lista", { name = "enc", n_hid = 4, T = 3 })
  net:add("dense", { name = "dec", n_out = 6 })
  net:add("squared_error")
  net:build()
  local X = sae.rand(7, 6)
  local before = {}
  for _, t in ipairs { { "enc", "We" }, { "enc", "Sl" }, { "enc", "b" }, { "dec", "W" }, { "dec", "b" } } do
    before[#before + 1] = { t[1], t[2], net:param(t[1], t[2]):copy() }
  end
  net:eval(X)
  local gfull = net:grad():copy()
  local opt = sae.sgd(net, { lr = 0.5, lr_scale = { ["enc.Sl"] = 1 / 3, ["enc.We"] = 0.25,
                                                   ["dec.b"] = 0 } })
  opt:step(X)
  -- the gradient of each tensor is its slice of the block, in order
  local off, scale = 0, { We = 0.25, Sl = 1 / 3, b = 1, W = 1 }
  for _, e in ipairs(before) do
    local node, t, P0 = e[1], e[2], e[3]
    local c = (node == "dec" and t == "b") and 0 or scale[t]
    local P = net:param(node, t)
    for i = 1, P:rows() do
      for j = 1, P:cols() do
        off = off + 1
        near(P:get(i, j), P0:get(i, j) - 0.5 * c * gfull:get(off, 1), 1e-12, node .. "." .. t)
      end
    end
  end
  raises('sae.sgd: lr_scale: no node named "encc"',
         function() sae.sgd(net, { lr_scale = { ["encc.We"] = 1 } }) end)
  raises('has no tensor named', function() sae.sgd(net, { lr_scale = { ["enc.W"] = 1 } }) end)
  raises('is not "node.tensor"', function() sae.sgd(net, { lr_scale = { enc = 1 } }) end)
  raises("learning-rate scale -1 must be a number >= 0",
         function() sae.sgd(net, { lr_scale = { ["enc.We"] = -1 } }) end)
  raises("unknown option 'lr_scales'", function() sae.train(net, X, { epochs = 1, lr_scales = {} }) end)
  -- through sae.train and opt:set
  sae.train(net, X, { epochs = 1, lr = 0.1, lr_scale = { ["enc.Sl"] = 0.1 }, quiet = true })
  opt:set { lr_scale = { ["dec.b"] = 1 } }
end

-- ---- sae.train's checkpoint: an interrupted run resumes with the uninterrupted one's numbers ----
do
  local function run(path, stop_at, epochs)
    sae.seed(2385)
    local net = sae.model(6)
    net:add("lista", { name = "enc", n_hid = 4, T = 3 })
    net:add("dense", { name = "dec", n_out = 6 })
    net:add("squared_error")
    net:build()
    local X = sae.rand(20, 6)
    local keep = { seen = {} }
    local h = sae.train(net, X, { epochs = epochs, batch = 5, lr = 0.1, momentum = 0.9, quiet = true,
                                  checkpoint = path, signature = "test", keep = keep,
                                  on_epoch = function(e)
                                    keep.seen[#keep.seen + 1] = e
                                    return stop_at and e == stop_at
                                  end })
    return net:theta():copy(), h, keep
  end
  local dir = os.tmpname()
  os.remove(dir)
  local whole = run(nil, nil, 6)
  local _, h1 = run(dir, 3, 6)
  assert(h1.stopped == "on_epoch" and #h1.epoch == 3)
  local theta, h2, keep = run(dir, nil, 6)
  assert(h2.resumed_from == 3 and #h2.epoch == 6, "resumed history")
  assert(#keep.seen == 6, "kept records put back: " .. #keep.seen)
  assert(theta:equal(whole, 0), "resumed run differs from the uninterrupted one")
  raises("is a checkpoint of another run", function()
    local net = sae.model(6):add("dense", { n_out = 6 }):add("squared_error"):build()
    sae.train(net, sae.rand(4, 6), { epochs = 1, checkpoint = dir, signature = "other" })
  end)
  os.remove(dir)
end

-- ---- bad input: one line naming the parameter ----
local function add(opts) return function() sae.model(6):add("lista", opts) end end
raises("T", add { T = 0 })
raises("n_hid", add { n_hid = 0 })
raises("max_norm", add { max_norm = -1 })
raises("max_norm", function() sae.model(6):add("dense", { max_norm = -0.5 }) end)
raises("eps", function() sae.model(6):add("l2norm", { eps = 0 }) end)
do -- the classifier branch needs labels
  local net = sae.model(6)
  net:add("lista", { name = "code", n_hid = 4, T = 2 })
  net:add("dense", { n_out = 3 })
  net:add("softmax")
  net:build()
  raises("needs labels", function() net:eval(sae.rand(2, 6)) end)
end
print("lista: ok")

-- ---- sae.models.lista_init: T lista steps from ISTA's start are T ISTA steps ----
do
  local D = sae.rand(5, 6, { dist = "normal" })
  for _, shrink in ipairs { 0, 1 } do
    local net = sae.model(6):add("lista", { name = "enc", n_hid = 5, T = 4, shrink = shrink }):build()
    local eta = sae.models.lista_init(net, "enc", D, { lambda = 0.2 })
    local X = sae.rand(3, 6)
    net:forward(X)
    local Z, info = sae.sparse_code(D, X, { lambda = 0.2, nonneg = shrink == 1, fista = false,
                                            max_iter = 4, tol = 0 })
    near(info.eta, eta, 0, "eta")
    assert(net:output("enc"):equal(Z, 1e-12), "lista_init: 4 ISTA steps, shrink " .. shrink)
  end
  local net = sae.model(6):add("lista", { name = "enc", n_hid = 5, T = 2 }):build()
  raises("sae.models.lista_init: D is 4 x 6, but node enc's dictionary is n_hid x n_in = 5 x 6",
         function() sae.models.lista_init(net, "enc", sae.rand(4, 6)) end)
  raises("unknown option 'lamda'", function() sae.models.lista_init(net, "enc", D, { lamda = 1 }) end)
  raises("lambda must be a number >= 0", function() sae.models.lista_init(net, "enc", D, { lambda = -1 }) end)
end
print("lista_init: ok")

-- ---- L-BFGS: a dense node projects only with max_norm > 0 ----
do
  local X = sae.rand(5, 4)
  local free = sae.model(4):add("dense", { n_out = 4 }):add("squared_error"):build()
  sae.lbfgs(free, X, { max_iter = 2 })
  local bounded = sae.model(4):add("dense", { name = "d", n_out = 4, max_norm = 1 })
                             :add("squared_error"):build()
  raises("L-BFGS: node d (dense) projects its parameters", function() sae.lbfgs(bounded, X) end)
end
print("lbfgs and max_norm: ok")
