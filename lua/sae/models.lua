-- sae.models: the models the reproductions share, built from plugin types.
local core = require "sae.core"

local M = {}

-- The UFLDL sparse autoencoder (Ng, CS294A notes, 2011):
--   dense W1 -> sigmoid "code" -> kl(rho, beta) -> dense W2 -> sigmoid "out"
--   -> squared_error, with the l2 regularizer (lambda) on the weights only.
-- Nodes are named W1, code, W2 and out; returns the built model.
function M.ufldl_sparse_autoencoder(o)
  local net = core.model(assert(o.n_vis, "n_vis is required"))
  net:add("dense", { n_out = assert(o.n_hid, "n_hid is required"), name = "W1" })
  net:add("sigmoid", { name = "code" })
  net:add("kl", { rho = o.rho or 0.01, beta = o.beta or 3 })
  net:add("dense", { n_out = o.n_vis, name = "W2" })
  net:add("sigmoid", { name = "out" })
  net:add("squared_error")
  net:add("l2", { lambda = o.lambda or 1e-4 })
  return net:build()
end

return M
