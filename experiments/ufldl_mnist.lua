--[[
# Sparse autoencoder on MNIST: pen strokes (UFLDL)

The UFLDL exercise "Vectorization" (Ng et al., 2011) trains the same sparse
autoencoder as the patch exercise on handwritten digits: the first 10000
MNIST training images, 784-196-784 sigmoid units, rho = 0.1, beta = 3,
lambda = 3e-3, 400 iterations of L-BFGS. The hidden units should learn
**pen strokes**: short, localised stroke fragments rather than whole digits.
]]
local sae = require "sae"

local quick = sae.arg("quick", false)
local n_images = sae.arg("images", quick and 1000 or 10000)
local n_hid = sae.arg("hidden", 196)
local rho = sae.arg("rho", 0.1)
local beta = sae.arg("beta", 3)
local lambda = sae.arg("lambda", 3e-3)
local max_iter = sae.arg("iterations", quick and 20 or 400)

local X = sae.data.mnist("train", n_images)
local n_vis = X:cols()
sae.report.text(string.format("Data: the first %d MNIST training images (%d pixels, in [0, 1]).",
                              X:rows(), n_vis))

--[[
## Gradient check

As in the exercise, on a small problem first: the same layers and
hyper-parameters with 4 hidden units instead of 196, on 2 images, every
parameter (7,060 of them). Why so small: the numerical gradient of all
308,308 parameters would cost millions of forward passes, and the rounding
noise of a cost summed over 784 outputs grows with the batch: on 10 images
central differences themselves are only good to about 2e-9 (measured with
GSL's `gsl_deriv_central`), above the exercise's 1e-9 criterion, while the
per-type checks of `make check` reach 1e-11.
]]
local function build(hidden)
  return sae.models.ufldl_sparse_autoencoder { n_vis = n_vis, n_hid = hidden, rho = rho,
                                               beta = beta, lambda = lambda }
end
local gc = build(4):gradcheck(X:rowrange(1, 2))
sae.report.gradcheck(gc, "Gradient check (784-4-784, 2 images, all parameters)")

--[[
## Training
]]
local net = build(n_hid)
sae.models.train_sparse_autoencoder(net, X, { max_iter = max_iter, rho = rho,
                                           title = "Sparse autoencoder on MNIST: L-BFGS",
                                           -- checkpoint=PREFIX: a killed run goes on (sae.resume)
                                           checkpoint = sae.resume.path("autoencoder"),
                                           signature = sae.resume.signature("autoencoder") })

--[[
## The filters

The 196 hidden units' input weights, each as a 28x28 image with its own
contrast. Expect stroke fragments: short bars and arcs at different places
and angles.
]]
sae.plot.filters(net:param("W1", "W"), { file = "filters.png", h = 28, w = 28,
  caption = "The learned filters (rows of W1): pen strokes." })

local out = net:output("out")
local pair = sae.matrix(20, n_vis)
for i = 1, 10 do
  pair:row(2 * i - 1):add(X:row(i))
  pair:row(2 * i):add(out:row(i))
end
sae.plot.images(pair, { file = "reconstructions.png", h = 28, w = 28, cols = 10,
  caption = "Digits (odd tiles) beside their reconstructions (even tiles)." })
