-- sae.eval: evaluating features the UFLDL way, by softmax regression.
--
--   local r = sae.softmax_regression(Xtrain, ytrain, Xtest, ytest,
--                                    { lambda = 1e-4, max_iter = 100 })
--   r.accuracy, r.error, r.confusion (K x K matrix: row = true class,
--   column = predicted), r.model, r.history
--
-- Labels are class numbers 1..K (add 1 to MNIST's digits). The model is
-- UFLDL's softmax regression (softmaxCost.m / softmaxTrain.m): logits
-- theta x with no intercept (theta is r.model:param("logits", "W"), K x n_in,
-- a row per class), cost -1/m sum log p(y|x) + lambda/2 ||theta||^2,
-- minimised by L-BFGS from a small random start.  opts: lambda, max_iter,
-- classes, init_scale, verbose, and bias = true for an intercept per class
-- (not decayed; logistic regression as most papers run it).  An unknown
-- option is an error; argument errors name the script's line.
local core = require "sae.core"
local caller = require "sae.caller"

local M = {}

local function n_classes(labels)
  local k = 0
  for _, y in ipairs(labels) do
    if type(y) ~= "number" or y % 1 ~= 0 or y < 1 then
      caller.error("labels must be class numbers 1..K, got " .. tostring(y))
    end
    if y > k then k = y end
  end
  return k
end

-- Predicted classes (argmax of the logits) of a softmax model on X.
function M.predict(model, X)
  return model:encode(X, "logits"):argmax()
end

-- Accuracy and confusion matrix of predicted vs true classes.
function M.score(pred, truth, k)
  caller.check(#pred == #truth, "sae.score: prediction and truth lengths differ")
  local C = core.matrix(k, k)
  local right = 0
  for i = 1, #truth do
    C:set(truth[i], pred[i], C:get(truth[i], pred[i]) + 1)
    if pred[i] == truth[i] then right = right + 1 end
  end
  return right / #truth, C
end

-- How well Y reconstructs X (one example per row): the squared error summed
-- over all entries, and the fraction of variance unexplained, that sum over
-- sum_i ||x_i - mean(X)||^2 (mean over the rows of X).
function M.reconstruction_error(X, Y)
  local R = X - Y
  local sse = R:hadamard(R):sum()
  local mu = X:colmean()
  local sst = X:hadamard(X):sum() - X:rows() * mu:hadamard(mu):sum()
  return sse, sse / sst
end

function M.softmax_regression(Xtr, ytr, Xte, yte, opts)
  opts = caller.options(opts, "sae.softmax_regression",
                        { "lambda", "max_iter", "classes", "init_scale", "verbose", "bias",
                          "checkpoint", "signature" })
  local k = opts.classes or math.max(n_classes(ytr), n_classes(yte))
  local model = core.model(Xtr:cols())
  model:add("dense", { n_out = k, bias = opts.bias and 1 or 0, init_scale = opts.init_scale or 0.005,
                       name = "logits" })
  model:add("softmax")
  model:add("l2", { lambda = opts.lambda or 1e-4 })
  model:build()
  local hist = require("sae.trainer").lbfgs(model, Xtr,
                                           { labels = ytr, max_iter = opts.max_iter or 100,
                                             verbose = opts.verbose, checkpoint = opts.checkpoint,
                                             signature = opts.signature })
  local acc, C = M.score(M.predict(model, Xte), yte, k)
  return { accuracy = acc, error = 1 - acc, confusion = C, model = model, history = hist }
end

return M
