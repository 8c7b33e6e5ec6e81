--[[
# Sparse autoencoder on natural-image patches (UFLDL)

The Stanford UFLDL tutorial's first exercise (Ng, *CS294A Lecture notes:
Sparse autoencoder*, 2011; exercise "Sparse Autoencoder"): a 64-25-64
sigmoid autoencoder trained on 8x8 patches of whitened natural images, with a
KL sparsity penalty on the hidden units and weight decay, by L-BFGS. Its
hidden units should become **localised, oriented edge detectors**, like the
receptive fields of V1 simple cells.

The cost, as in the notes (m patches, s hidden units):

J(W, b) = 1/m sum_i 1/2 ||x_hat_i - x_i||^2 + lambda/2 (||W1||^2 + ||W2||^2)
          + beta sum_j KL(rho || rho_hat_j)

with rho = 0.01, beta = 3, lambda = 1e-4, weights initialised uniformly in
+/- sqrt(6) / sqrt(n_hid + n_vis + 1), biases at 0, and 400 iterations of
L-BFGS over all parameters at once (the exercise uses minFunc's L-BFGS; we
use liblbfgs).
]]
local sae = require "sae"

local quick = sae.arg("quick", false)
local n_patches = sae.arg("patches", quick and 2000 or 10000)
local size = sae.arg("size", 8)
local n_hid = sae.arg("hidden", 25)
local rho = sae.arg("rho", 0.01)
local beta = sae.arg("beta", 3)
local lambda = sae.arg("lambda", 1e-4)
local max_iter = sae.arg("iterations", quick and 40 or 400)
local source = sae.arg("source", "auto") -- auto | olshausen | mat | png
local olshausen_dir = sae.arg("olshausen", "")
local mat_file = sae.arg("mat", "")

--[[
## The images

The exercise's `IMAGES.mat` holds ten 512x512 natural images that Olshausen
whitened (Olshausen & Field, *Nature* 1996). saelab reads them, in order of
preference, from Olshausen's own raw files (`olshausen=DIR`, or the data
directory), from the exercise's `IMAGES.mat` (`mat=FILE`), or else it makes
its own: lossless PNG textures shipped in Debian's `python3-skimage`
(CC0), whitened the way Olshausen did (spectrum multiplied by
f exp(-(f/f0)^4), f0 = 0.4 N, then scaled to mean image variance 0.1).
]]
local images, source_used = sae.data.natural_images {
  source = source, olshausen = olshausen_dir, mat = mat_file,
}
sae.report.text(string.format("Images used: **%s** (%d images of %dx%d).", source_used,
                              #images, images[1]:rows(), images[1]:cols()))
sae.report.metric("image_source", source_used)

--[[
UFLDL's `sampleIMAGES`: patches at random positions of random images, then
`normalizeData`: remove each patch's mean (its DC), clip at 3 standard
deviations of all entries and map to [0.1, 0.9], the range of the sigmoid
output units.
]]
local X = sae.data.patches(images, size, n_patches)
sae.data.normalize_patches(X)
local n_vis = size * size
sae.plot.images(X:rowrange(1, 100), { file = "patches.png", h = size, w = size, cols = 10,
  caption = "100 of the training patches after normalisation." })

local function build()
  return sae.models.ufldl_sparse_autoencoder { n_vis = n_vis, n_hid = n_hid, rho = rho,
                                               beta = beta, lambda = lambda }
end

--[[
## Gradient check

The exercise's rule: before training, compare the gradient with a numerical
one on a small problem; ||g_num - g|| / ||g_num + g|| should be below 1e-9.
We check the full 64-25-64 network on 10 patches, every parameter.
]]
local net = build()
local gc = net:gradcheck(X:rowrange(1, 10))
sae.report.gradcheck(gc, "Gradient check (10 patches, all parameters)")

--[[
## Training
]]
sae.models.train_sparse_autoencoder(net, X, { max_iter = max_iter, rho = rho,
                                           title = "Sparse autoencoder on patches: L-BFGS",
                                           -- checkpoint=PREFIX: a killed run goes on (sae.resume)
                                           checkpoint = sae.resume.path("autoencoder"),
                                           signature = sae.resume.signature("autoencoder") })

--[[
## The filters

Each hidden unit's input weights (a row of W1), shown as an 8x8 image with
its own contrast, as the exercise's `display_network` does. With enough
iterations on whitened images they look like localised, oriented edges at
various positions, orientations and (few) scales.
]]
sae.plot.filters(net:param("W1", "W"), { file = "filters.png", h = size, w = size,
  caption = "The 25 learned filters (rows of W1)." })

local out = net:output("out")
local pair = sae.matrix(20, n_vis)
for i = 1, 10 do
  pair:row(2 * i - 1):add(X:row(i))
  pair:row(2 * i):add(out:row(i))
end
sae.plot.images(pair, { file = "reconstructions.png", h = size, w = size, cols = 10,
  caption = "Patches (odd tiles) beside their reconstructions (even tiles)." })

--[[
## Reading the result

What to look for: the filter grid, not the cost. UFLDL's own expected output
is a grid of edge-like filters; a grid of noise means training stopped too
early, and blobs without orientation mean the images were not whitened (or
the sparsity penalty is off). The mean activation rho_hat should sit close
to rho: the KL term enforces it.
]]
