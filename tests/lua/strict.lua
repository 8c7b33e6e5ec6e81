-- tests/lua/strict.lua -- strict options everywhere, errors at the script's
-- line, no training without a loss, and a choosable code node.
--
-- Every public function that takes an options table is fed a misspelt key:
-- the error must name the key and the known list (a typo such as
-- `momentun` used to pass without a word).  Every failing check is listed
-- at the end, not just the first.
local sae = require "sae"

local failures = {}

-- f(...) must raise an error containing the plain text.
local function raises(text, f, ...)
  local ok, err = pcall(f, ...)
  if ok then
    failures[#failures + 1] = "no error; expected '" .. text .. "'"
  elseif not tostring(err):find(text, 1, true) then
    failures[#failures + 1] = "error '" .. tostring(err) .. "' lacks '" .. text .. "'"
  end
  return err
end

local function check(cond, what)
  if not cond then failures[#failures + 1] = what end
end

local function unknown(fname, key, known)
  return string.format("%s: unknown option '%s' (known: %s)", fname, key, known)
end

local X = sae.rand(6, 4)
local function autoencoder()
  return sae.model(4):add("dense", { n_out = 3, name = "enc" }):add("sigmoid", { name = "code" })
    :add("dense", { n_out = 4 }):add("squared_error"):build()
end

-- ---- 1. a misspelt key, for every function that takes options -------------

-- net:add: its type's hyper-parameters and name, input, tie, share.
local DENSE = "n_out, init_scale, bias, max_norm, norm_axis, name, input, tie, share"
local net = sae.model(4)
raises(unknown('net:add("dense")', "n_uot", DENSE), net.add, net, "dense", { n_uot = 5 })
raises(unknown('net:add("dense")', "naem", DENSE), net.add, net, "dense", { n_out = 2, naem = "x" })
raises(unknown('net:add("sigmoid")', "nmae", "name, input, tie, share"), net.add, net, "sigmoid",
       { nmae = "code" })

net = autoencoder()
local BATCH = "target, labels, mode"
raises(unknown("net:forward", "targte", BATCH), net.forward, net, X, { targte = X })
raises(unknown("net:cost", "mdoe", BATCH), net.cost, net, X, { mdoe = "eval" })
raises(unknown("net:eval", "lables", BATCH), net.eval, net, X, { lables = { 1 } })
raises(unknown("net:update", "targte", BATCH), net.update, net, X, 0.1, { targte = X })
raises(unknown("net:encode", "cdoe", "code"), net.encode, net, X, { cdoe = "enc" })
raises(unknown("net:decode", "cdoe", "code"), net.decode, net, sae.rand(6, 3), { cdoe = "enc" })

raises(unknown("sae.sgd", "momentun", "lr, momentum, lr_scale, precision"), sae.sgd, net, { momentun = 0.9 })
local opt = sae.sgd(net, { lr = 0.1 })
raises(unknown("opt:set", "rl", "lr, momentum, lr_scale"), opt.set, opt, { rl = 0.2 })
raises(unknown("opt:step", "targte", BATCH), opt.step, opt, X, { targte = X })
raises(unknown("lbfgs", "max_iters", "max_iter, m, epsilon, delta, past, verbose, target, labels, mode, "
                                    .. "checkpoint, checkpoint_every, signature, keep"),
       sae.lbfgs, net, X, { max_iters = 3 })

raises(unknown("sae.rand", "sgima", "dist, a, b, mean, sigma"), sae.rand, 2, 2, { sgima = 1 })

local PLOT = "title, xlabel, ylabel, logy, width, height"
raises(unknown("sae.plot_lines", "logx", PLOT), sae.plot_lines, "/nonexistent/x.png",
       { { y = { 1, 2 } } }, { logx = true })
raises(unknown("sae.plot_lines: series 1", "z", "y, x, title"), sae.plot_lines,
       "/nonexistent/x.png", { { y = { 1, 2 }, z = 1 } })
raises(unknown("sae.plot_heatmap", "titel", PLOT), sae.plot_heatmap, "/nonexistent/x.png", X,
       { titel = "W" })
raises(unknown("sae.plot_grid", "colls", "h, w, cols, normalize, title, width, height"),
       sae.plot_grid, "/nonexistent/x.png", X, { colls = 2 })

local TRAIN = "epochs, batch, lr, momentum, lr_scale, precision, schedule, shuffle, target, labels, tol, rtol, "
  .. "every, quiet, on_epoch, first_epoch, on_start, checkpoint, checkpoint_every, signature, keep"
raises(unknown("sae.train", "batch_size", TRAIN), sae.train, net, X,
       { epochs = 1, batch_size = 2, quiet = true })
raises(unknown("sae.train: schedule", "factr", "step, factor, decay"), sae.train, net, X,
       { epochs = 1, schedule = { step = 2, factr = 0.5 }, quiet = true })

raises(unknown("report.table", "captoin", "caption, header, rows, fmt"), sae.report.table,
       { captoin = "x", header = { "a" }, rows = {} })
raises(unknown("report.matrix", "fromat", "caption, fmt, rownames, colnames"), sae.report.matrix,
       X, { fromat = "%.1f" })
raises(unknown("plot.curve", "logx", "file, series, title, xlabel, ylabel, logy, width, height, caption"),
       sae.plot.curve, { file = "c.png", series = { { y = { 1, 2 } } }, logx = true })
raises(unknown("plot.heatmap", "titel", "file, title, xlabel, ylabel, width, height, caption"),
       sae.plot.heatmap, X, { file = "h.png", titel = "W" })
local GRID = "file, h, w, cols, title, caption, normalize, width, height"
raises(unknown("plot.filters", "colls", GRID), sae.plot.filters, X, { file = "f.png", colls = 2 })
raises(unknown("plot.images", "colls", GRID), sae.plot.images, X, { file = "i.png", colls = 2 })

raises(unknown("sae.data.natural_images", "sorce", "source, olshausen, mat"),
       sae.data.natural_images, { sorce = "png" })
raises(unknown("sae.softmax_regression", "lamda",
               "lambda, max_iter, classes, init_scale, verbose, bias, checkpoint, signature"),
       sae.softmax_regression, X, { 1, 2, 1, 2, 1, 2 }, X, { 1, 2, 1, 2, 1, 2 }, { lamda = 1e-4 })
raises(unknown("sae.models.ufldl_sparse_autoencoder", "n_hdi", "n_vis, n_hid, rho, beta, lambda"),
       sae.models.ufldl_sparse_autoencoder, { n_vis = 4, n_hdi = 3 })
raises(unknown("sae.models.train_sparse_autoencoder", "max_iters",
               "max_iter, rho, title, checkpoint, signature"),
       sae.models.train_sparse_autoencoder, net, X, { max_iters = 1 })
raises(unknown("sae.models.ksparse_autoencoder", "kk", "n_vis, n_hid, k, alpha, init_scale, tied, mean"),
       sae.models.ksparse_autoencoder, { n_vis = 4, n_hid = 3, k = 1, kk = 2 })

-- ---- 2. a caller's mistake names the script's line, not lua/sae/ ----------

-- at(): the line it is called on; each call below and its at() share a line.
local function at() return tostring(debug.getinfo(2, "l").currentline) end
local function line_of(err) return tostring(err):match("strict%.lua:(%d+):") end
local function same_line(want, err, what)
  check(line_of(err) == want, string.format("%s: '%s' should name strict.lua:%s", what,
                                            tostring(err), want))
end

local want
local err = raises("sae.train: epochs is required", function()
  want = at(); sae.train(net, X, {})
end)
same_line(want, err, "missing epochs")
-- through pcall (a C frame) straight into the helper: the pcall's line
want, err = at(), select(2, pcall(sae.train, net, X, {}))
same_line(want, err, "missing epochs, through pcall")
-- a helper's own checks, and a helper calling helpers (models -> lbfgs, report.plot)
want, err = at(), select(2, pcall(sae.models.train_sparse_autoencoder, net, X, { max_iters = 1 }))
same_line(want, err, "a helper's option")
want, err = at(), select(2, pcall(sae.data.mnist, "tarin"))
same_line(want, err, "sae.data.mnist's set")
want, err = at(), select(2, pcall(sae.train, net, "X", { epochs = 1 }))
same_line(want, err, "sae.train's X")
want, err = at(), select(2, pcall(sae.report.metric, "m", { "a" }))
same_line(want, err, "report.metric's value")
want, err = at(), select(2, pcall(sae.score, { 1 }, { 1, 2 }, 2))
same_line(want, err, "sae.score's lengths")
want, err = at(), select(2, pcall(sae.checkpoint.save, "/nonexistent/x.ck", { f = print }))
same_line(want, err, "sae.checkpoint.save's value")
-- an error of the script's own callback keeps its own line
err = select(2, pcall(sae.train, net, X, { epochs = 1, quiet = true,
                                           on_epoch = function() want = at(); error("mine") end }))
same_line(want, err, "an on_epoch callback's error")

-- ---- 3. nothing to minimise: no loss node -----------------------------------

local NO_LOSS = 'the model has no loss node: add one, e.g. net:add("squared_error")'
local encoder = sae.model(4):add("dense", { n_out = 3, name = "enc" })
  :add("sigmoid", { name = "code" }):build()
want, err = at(), select(2, pcall(sae.train, encoder, X, { epochs = 2, quiet = true }))
check(tostring(err):find(NO_LOSS, 1, true), "no loss node, sae.train: " .. tostring(err))
same_line(want, err, "no loss node, sae.train")
raises(NO_LOSS, sae.sgd, encoder, { lr = 0.1 })
raises(NO_LOSS, sae.lbfgs, encoder, X, { max_iter = 2, verbose = false })
-- ... but it still encodes, and runs forward (cost 0)
check(encoder:encode(X):cols() == 3, "an encode-only model must still encode")
check(encoder:forward(X) == 0, "forward of a model with no loss: cost 0")
-- a penalty or a regularizer alone is a cost: allowed
local l2 = sae.model(4):add("dense", { n_out = 3 }):add("l2", { lambda = 0.1 }):build()
check(pcall(sae.sgd, l2, { lr = 0.1 }), "a regularizer is a cost: sae.sgd must accept it")

-- ---- 4. the code node of encode/decode can be chosen -------------------------

local plain = sae.model(4):add("dense", { n_out = 3, name = "enc" })
  :add("dense", { n_out = 4, name = "dec" }):add("squared_error"):build()
raises('net:encode: no node named "code": name the code node so (net:add(type, {name = "code"})) '
       .. 'or pass its name (net:encode(X, {code = "enc"}))', plain.encode, plain, X)
raises('net:decode: no node named "code"', plain.decode, plain, sae.rand(6, 3))
local ok, why = pcall(function()
  local Z = plain:encode(X, { code = "enc" })
  check(Z:cols() == 3 and Z:equal(plain:encode(X, "enc")), "encode {code = \"enc\"} = encode \"enc\"")
  check(Z:equal(plain:encode(X, { code = 1 })), "encode {code = 1}: by index")
  local Y = plain:decode(Z, { code = "enc" })
  plain:forward(X)
  check(Y:equal(plain:output("dec"), 1e-14), "decode {code = \"enc\"} reproduces forward")
  check(net:encode(X):equal(net:encode(X, {})), "{} keeps the default node \"code\"")
end)
check(ok, "choosing the code node: " .. tostring(why))
raises('no node named "nope"', plain.encode, plain, X, { code = "nope" })

if #failures > 0 then
  error(#failures .. " failed:\n  " .. table.concat(failures, "\n  "), 0)
end
print("ok")
