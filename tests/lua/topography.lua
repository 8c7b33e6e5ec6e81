-- tests/lua/topography.lua -- sae.topography on constructed filters: a Gabor's
-- orientation and frequency are read back; a smooth orientation map over an
-- 11 x 11 grid scores far below 1, the same filters shuffled about 1; errors.
local sae = require "sae"

local expect = require "expect"
local raises, near = expect.raises, expect.near

-- an h x w Gabor with wave vector at angle theta (radians), f cycles/pixel
local function gabor(theta, f, h, w, r0, c0)
  local row = sae.zeros(1, h * w)
  for r = 1, h do
    for c = 1, w do
      local dy, dx = r - r0, c - c0
      local env = math.exp(-(dx * dx + dy * dy) / (2 * 2.2 ^ 2))
      row:set(1, (r - 1) * w + c, env * math.cos(2 * math.pi * f * (dx * math.cos(theta) +
                                                                    dy * math.sin(theta))))
    end
  end
  return row
end

-- one filter: orientation, frequency and position read back
local W1 = gabor(math.rad(30), 0.25, 8, 8, 4.5, 4.5)
local s = sae.topography.filters(W1)[1]
near(math.deg(s.orientation), 30, 6, "orientation of a 30-degree Gabor")
near(s.frequency, 0.25, 0.07, "frequency of a 0.25 cycles/pixel Gabor")
near(s.row, 4.5, 0.2, "row of the centred Gabor")
near(s.col, 4.5, 0.2, "column of the centred Gabor")
assert(s.strength > 0.5, "a Gabor is oriented")
-- a vertical wave vector gives 90 degrees, on 6 x 10 patches
near(math.deg(sae.topography.filters(gabor(math.rad(90), 0.3, 6, 10, 3.5, 5.5),
                                     { h = 6, w = 10 })[1].orientation), 90, 6, "90 degrees")

-- a smooth map: orientation grows along the grid, one turn per row and column
local G = 11
local W = sae.zeros(G * G, 64)
for r = 1, G do
  for c = 1, G do
    local theta = math.pi * ((r - 1) / G + (c - 1) / G) / 2
    W:row((r - 1) * G + c):copy(gabor(theta, 0.25, 8, 8, 4.5, 4.5))
  end
end
sae.seed(2385)
local t = sae.topography.score(W, { grid = G, perms = 50, wrap = false })
assert(t.ratio < 0.3, "smooth map ratio " .. t.ratio)
assert(t.map:rows() == G and t.map:cols() == G and #t.orientation == G * G)
near(t.shuffled, 45, 8, "shuffled mean difference of spread orientations")
-- the same filters shuffled over the grid score about 1
local p = sae.randperm(G * G)
local Ws = sae.zeros(G * G, 64)
sae.gather(W, p, Ws)
local ts = sae.topography.score(Ws, { grid = G, perms = 50 })
assert(ts.ratio > 0.85 and ts.ratio < 1.15, "shuffled map ratio " .. ts.ratio)

raises("grid = 7 does not tile the 121 filters", sae.topography.score, W, { grid = 7 })
raises("h x w = 5 x 12 is not the 64 columns", sae.topography.filters, W, { h = 5 })
raises("unknown option 'perm'", sae.topography.score, W, { perm = 3 })
raises("W must be a matrix", sae.topography.score, {})
