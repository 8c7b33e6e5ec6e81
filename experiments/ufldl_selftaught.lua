--[[
# Self-taught learning on MNIST (UFLDL)

The UFLDL exercise "Self-Taught Learning" (Raina, Battle, Lee, Packer & Ng,
"Self-taught learning: transfer learning from unlabeled data", ICML 2007;
exercise by Ng et al., 2011): learn features from *unlabelled* digits 5-9
with a sparse autoencoder (784-200, rho = 0.1, beta = 3, lambda = 3e-3, 400
iterations of L-BFGS), then classify the *labelled* digits 0-4 with softmax
regression (lambda = 1e-4) on those features. The labelled digits are split
in halves, in file order, for training and testing, as the exercise does.

We also run the two baselines the tutorial quotes: softmax on the raw pixels
of the same 0-4 split, and the softmax-regression exercise on raw MNIST (10
classes, 60000 / 10000, lambda = 1e-4, 100 iterations).
]]
local sae = require "sae"

local quick = sae.arg("quick", false)
local n_train_images = sae.arg("images", quick and 6000 or 60000)
local n_hid = sae.arg("hidden", 200)
local ae_iter = sae.arg("iterations", quick and 20 or 400)
local sm_iter = sae.arg("softmax_iterations", quick and 20 or 100)
local n_test_images = quick and 2000 or 10000

local X, digits = sae.data.mnist("train", n_train_images)

-- Unlabelled: digits 5-9; labelled: digits 0-4, first half train, second half test.
local unl, lab = {}, {}
for i, d in ipairs(digits) do
  if d >= 5 then unl[#unl + 1] = i else lab[#lab + 1] = i end
end
local half = math.floor(#lab / 2 + 0.5)
local tr_idx, te_idx, ytr, yte = {}, {}, {}, {}
for k, i in ipairs(lab) do
  if k <= half then tr_idx[#tr_idx + 1] = i; ytr[#ytr + 1] = digits[i] + 1
  else te_idx[#te_idx + 1] = i; yte[#yte + 1] = digits[i] + 1 end
end
local Xu, Xtr, Xte = X:select(unl), X:select(tr_idx), X:select(te_idx)
sae.report.table {
  caption = "Data (from the MNIST training set)",
  header = { "set", "digits", "examples" },
  rows = { { "unlabelled (autoencoder)", "5-9", Xu:rows() },
           { "labelled, train", "0-4", Xtr:rows() }, { "labelled, test", "0-4", Xte:rows() } },
}

--[[
## Features: a sparse autoencoder on the unlabelled digits
]]
local net = sae.models.ufldl_sparse_autoencoder { n_vis = 784, n_hid = n_hid, rho = 0.1,
                                                  beta = 3, lambda = 3e-3 }
-- checkpoint=PREFIX: every L-BFGS fit below saves as it goes, and a killed
-- run started again goes on from the files (sae.resume).
local hist = sae.lbfgs(net, Xu, { max_iter = ae_iter, checkpoint = sae.resume.path("autoencoder"),
                                 checkpoint_every = 20, signature = sae.resume.signature("autoencoder") })
sae.plot.curve {
  file = "cost.png", series = { { x = hist.iter, y = hist.cost, title = "J(W,b)" } },
  xlabel = "iteration", ylabel = "cost", logy = true,
  caption = "Autoencoder cost per L-BFGS iteration (digits 5-9).",
}
sae.plot.filters(net:param("W1", "W"), { file = "filters.png", h = 28, w = 28,
  caption = "Features learned from digits 5-9 (rows of W1)." })
sae.report.metric("ae_final_cost", hist.cost[#hist.cost])
sae.report.metric("ae_seconds", hist.total_seconds)

--[[
## Classifying digits 0-4

Features are the hidden activations a = sigmoid(W1 x + b1) (the exercise's
`feedForwardAutoencoder`). Softmax regression (no intercept, lambda = 1e-4,
L-BFGS) is trained on the first half of the labelled digits and tested on
the second half, on the features and, for comparison, on the raw pixels.
]]
local Ftr, Fte = net:encode(Xtr, "code"), net:encode(Xte, "code")
local feat = sae.softmax_regression(Ftr, ytr, Fte, yte, { lambda = 1e-4, max_iter = sm_iter, classes = 5,
                                                          checkpoint = sae.resume.path("softmax-features"),
                                                          signature = sae.resume.signature("softmax-features") })
local raw = sae.softmax_regression(Xtr, ytr, Xte, yte, { lambda = 1e-4, max_iter = sm_iter, classes = 5,
                                                         checkpoint = sae.resume.path("softmax-raw"),
                                                         signature = sae.resume.signature("softmax-raw") })

--[[
## The softmax exercise: raw MNIST, 10 classes
]]
local Xall, yall = X, sae.data.classes(digits)
local Xt, dt = sae.data.mnist("test", n_test_images)
local full = sae.softmax_regression(Xall, yall, Xt, sae.data.classes(dt),
                                    { lambda = 1e-4, max_iter = quick and sm_iter or 100, classes = 10,
                                      checkpoint = sae.resume.path("softmax-full"),
                                      signature = sae.resume.signature("softmax-full") })

local function pct(x) return string.format("%.2f %%", 100 * x) end
sae.report.table {
  caption = "Test accuracy, ours beside the published numbers",
  header = { "experiment", "train / test", "ours", "published" },
  rows = {
    { "self-taught features (" .. n_hid .. " hidden) + softmax, digits 0-4",
      Xtr:rows() .. " / " .. Xte:rows(), pct(feat.accuracy), "98.3 % (UFLDL)" },
    { "raw pixels + softmax, digits 0-4", Xtr:rows() .. " / " .. Xte:rows(), pct(raw.accuracy),
      "about 96 % (UFLDL)" },
    { "softmax on raw MNIST, 10 classes", Xall:rows() .. " / " .. Xt:rows(), pct(full.accuracy),
      "92.6 % (UFLDL wiki) / 92.2 % (starter code)" },
  },
}
sae.report.metric("accuracy_features", feat.accuracy)
sae.report.metric("accuracy_raw_0to4", raw.accuracy)
sae.report.metric("accuracy_softmax_mnist", full.accuracy)
sae.report.matrix(feat.confusion, { caption = "Confusion matrix, features + softmax (rows: true digit 0-4, columns: predicted)",
                                    fmt = "%d", rownames = { "0", "1", "2", "3", "4" },
                                    colnames = { "0", "1", "2", "3", "4" } })

--[[
## Reading the result

The features were learned without a single label, and from other digits
(5-9) than the ones classified (0-4): that is the point of self-taught
learning. The published 98.3 % against about 96 % for raw pixels is the
claim to check in the table above; a quick run (`quick=1`) trains far too
little to show it.
]]
