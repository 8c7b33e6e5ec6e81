-- tests/lua/orientation.lua -- one weight orientation for every type: a W
-- holds one unit per ROW (saelab/plugin.h), n_out x n_in.  For each type with
-- weights: the shape, and that row j really is unit j's (set row j by hand,
-- forward a one-hot input, only unit j answers).  A tied decoder uses the
-- encoder's W transposed; filter grids draw W's rows as they are.
local sae = require "sae"

local expect = require "expect"
local raises, near = expect.raises, expect.near

local N_IN, N_HID, J, I, V = 36, 5, 4, 17, 2.385 -- unit J, input I, weight V

-- e_i: a 1 x n one-hot row
local function onehot(n, i) return sae.zeros(1, n):set(1, i, 1) end

-- dense 36 -> 5: W is 5 x 36, row J holds unit J's weights
local net = sae.model(N_IN)
net:add("dense", { name = "enc", n_out = N_HID })
net:add("dense", { name = "dec", n_out = N_IN, tie = "enc" })
net:build()
local W = net:param("enc", "W")
assert(W:rows() == N_HID and W:cols() == N_IN,
       string.format("dense W is %d x %d, expected %d x %d (a row per unit)", W:rows(), W:cols(),
                     N_HID, N_IN))
assert(net:param("enc", "b"):cols() == N_HID)
W:fill(0)
net:param("enc", "b"):fill(0.5)
W:set(J, I, V)
net:forward(onehot(N_IN, I))
local y = net:output("enc")
for j = 1, N_HID do
  near(y:get(1, j), j == J and 0.5 + V or 0.5, 1e-15, "dense unit " .. j .. " on e_" .. I)
end
-- the tied decoder's W is the encoder's used transposed: code e_J decodes to row J (+ b_dec)
local row = sae.zeros(1, N_IN)
for i = 1, N_IN do row:set(1, i, (i % 7 - 3) * 0.125) end
W:row(J):copy(row)
net:param("dec", "b"):fill(0)
assert(net:decode(onehot(N_HID, J), "enc"):equal(row, 1e-15), "tied decoder: e_J is not row J")

-- the filter grid draws the rows: 5 tiles of 6 x 6 (W^T, 36 x 5, no longer fits)
if sae.plot_available() then
  assert(sae.plot.filters(W, { file = "filters.png", h = 6, w = 6 }) == true)
  raises("need 36 columns, the matrix has 5", sae.plot.filters, W:t(),
         { file = "filters_t.png", h = 6, w = 6 })
end

-- ksparse: W is n_hid x n_in, row J unit J's filter and (tied) its atom
local ks = sae.model(N_IN)
ks:add("ksparse", { name = "ks", n_hid = N_HID, k = 1 })
ks:build()
local K = ks:param("ks", "W")
assert(K:rows() == N_HID and K:cols() == N_IN, "ksparse W is " .. K:rows() .. " x " .. K:cols())
K:fill(0)
K:row(J):copy(row)
K:set(J, I, V)
ks:forward(onehot(N_IN, I))
-- z = e_I W^T = V e_J, top-1 keeps unit J, x^ = V W_J
assert(ks:output("ks"):equal(row:copy():set(1, I, V) * V, 1e-14), "ksparse: x^ is not V W_J")
-- its encoder for features, a dense layer: the same W, rows as they are
local enc = sae.models.ksparse_encoder(ks, "ks", 1)
assert(enc:param("enc", "W"):equal(K, 0), "ksparse_encoder's dense W differs from ksparse's")
local z = enc:encode(onehot(N_IN, I), "code")
for j = 1, N_HID do near(z:get(1, j), j == J and V or 0, 1e-15, "ksparse_encoder unit " .. j) end

-- arora: W = A^T is n_hid x n_in, row J atom J; a dense decoder ties to it
local ar = sae.model(N_IN)
ar:add("arora", { name = "code", n_hid = N_HID, tau = 1 })
ar:add("dense", { name = "dec", n_out = N_IN, bias = 0, tie = "code" })
ar:build()
local A = ar:param("code", "W")
assert(A:rows() == N_HID and A:cols() == N_IN, "arora W is " .. A:rows() .. " x " .. A:cols())
A:fill(0)
A:set(J, I, V)
ar:forward(onehot(N_IN, I))
assert(ar:output("code"):equal(onehot(N_HID, J) * V, 1e-15), "arora: code is not V e_J")
assert(ar:output("dec"):equal(onehot(N_IN, I) * (V * V), 1e-14), "arora: x^ is not V A_J")

-- softmax regression: theta (the logits layer's W) is K x n_in, row c class c's
local NC = 3
local sm = sae.model(N_IN)
sm:add("dense", { name = "logits", n_out = NC, bias = 0 })
sm:add("softmax")
sm:build()
local T = sm:param("logits", "W")
assert(T:rows() == NC and T:cols() == N_IN, "softmax theta is " .. T:rows() .. " x " .. T:cols())
T:fill(0)
T:set(2, I, V)
assert(sae.predict(sm, onehot(N_IN, I))[1] == 2, "softmax: row 2 did not make class 2")
local X = sae.rand(12, N_IN)
local labels = {}
for i = 1, 12 do labels[i] = i % NC + 1 end
local r = sae.softmax_regression(X, labels, X, labels, { max_iter = 3 })
local theta = r.model:param("logits", "W")
assert(theta:rows() == NC and theta:cols() == N_IN, "softmax_regression's theta is not K x n_in")
print("ok")
