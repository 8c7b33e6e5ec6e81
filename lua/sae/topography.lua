-- sae.topography: is a learned map topographic?  A number, not only a picture.
--
--   local t = sae.topography.score(W, { h = 8, w = 8, grid = 11 })
--   print(t.ratio)   -- < 1: neighbours on the grid share orientations
--
-- Each filter (a row of W, read as an h x w patch, row-major as
-- sae.plot.filters draws it) gets an orientation, a spatial frequency and a
-- position from its 2-D discrete Fourier transform (a direct DFT: 64 points
-- per 8x8 filter, cheap in Lua).  The map's statistic is the mean orientation
-- difference between grid neighbours (right and down, across the edges on a
-- torus); the same statistic for random permutations of the units over the
-- grid is its baseline, and ratio = observed / mean permuted.  A smooth
-- orientation map scores far below 1; an unordered one about 1 (for uniformly
-- spread orientations both sit near 45 degrees).
local core = require "sae.core"
local caller = require "sae.caller"

local M = {}

-- The most square grid for n units: width the smallest divisor >= sqrt(n)
-- (the `group` penalty's default layout).
local function grid_width(n)
  local w = 1
  while w * w < n do w = w + 1 end
  while n % w ~= 0 do w = w + 1 end
  return w
end

-- Orientation (radians in [0, pi): the direction of the filter's stripes'
-- normal, i.e. of its wave vector), spatial frequency (cycles per pixel) at
-- the peak of |F|, the orientation's strength in [0, 1], and the position
-- (centre of mass of w^2, rows and columns counted from 1) of one filter.
--
-- Why the orientation is a power-weighted mean and not the peak's angle
-- alone: on an 8x8 grid the peak sits on one of ~30 lattice frequencies, so
-- its angle is quantised to steps of up to 45 degrees at low frequency.  The
-- mean of the doubled angle 2 theta(u, v) weighted by |F(u, v)|^2 (the
-- orientation tensor of the spectrum) is continuous, agrees with the peak for
-- a clean Gabor (its two lobes at +-f give the same 2 theta), and its length
-- says how oriented the filter is (1: one orientation, 0: a blob).
local function filter_stats(row, h, w, cs)
  local x = {}
  local mass, pr, pc = 0, 0, 0
  for r = 1, h do
    for c = 1, w do
      local v = row[(r - 1) * w + c]
      x[#x + 1] = v
      mass, pr, pc = mass + v * v, pr + v * v * r, pc + v * v * c
    end
  end
  local best, fy, fx = -1, 0, 0
  local sc, ss, tot = 0, 0, 0
  for u = 0, h - 1 do
    for v = 0, w - 1 do
      if u ~= 0 or v ~= 0 then
        local re, im, k = 0, 0, 1
        for r = 0, h - 1 do
          local cu, su = cs.cos_h[u * r % h], cs.sin_h[u * r % h]
          for c = 0, w - 1 do
            local cv, sv = cs.cos_w[v * c % w], cs.sin_w[v * c % w]
            -- exp(-i(a + b)) = (cu cv - su sv) - i(su cv + cu sv)
            local xv = x[k]
            re = re + xv * (cu * cv - su * sv)
            im = im - xv * (su * cv + cu * sv)
            k = k + 1
          end
        end
        local p = re * re + im * im
        -- signed frequencies in cycles per pixel, folded to (-1/2, 1/2]
        local ku = (u > h / 2) and (u - h) or u
        local kv = (v > w / 2) and (v - w) or v
        local gy, gx = ku / h, kv / w
        local theta = math.atan(gy, gx)
        sc, ss, tot = sc + p * math.cos(2 * theta), ss + p * math.sin(2 * theta), tot + p
        if p > best then best, fy, fx = p, gy, gx end
      end
    end
  end
  local ori = 0.5 * math.atan(ss, sc)
  if ori < 0 then ori = ori + math.pi end
  return {
    orientation = ori,
    strength = tot > 0 and math.sqrt(sc * sc + ss * ss) / tot or 0,
    frequency = math.sqrt(fx * fx + fy * fy),
    row = mass > 0 and pr / mass or (h + 1) / 2,
    col = mass > 0 and pc / mass or (w + 1) / 2,
  }
end

local function tables(n)
  local c, s = {}, {}
  for k = 0, n - 1 do c[k], s[k] = math.cos(2 * math.pi * k / n), math.sin(2 * math.pi * k / n) end
  return c, s
end

-- Per-filter statistics of W (one filter per row, h x w pixels; default
-- square).  Returns an array of tables {orientation, strength, frequency,
-- row, col} (see above), one per row of W.
function M.filters(W, opts)
  local fname = "sae.topography.filters"
  opts = caller.options(opts, fname, { "h", "w" })
  caller.check(core.ismatrix(W), fname .. ": W must be a matrix (one filter per row)")
  local n_px = W:cols()
  local h = opts.h or math.floor(math.sqrt(n_px) + 0.5)
  local w = opts.w or n_px // h
  caller.check(h * w == n_px, string.format("%s: h x w = %d x %d is not the %d columns of W",
                                            fname, h, w, n_px))
  local cs = {}
  cs.cos_h, cs.sin_h = tables(h)
  cs.cos_w, cs.sin_w = tables(w)
  local out = {}
  for i = 1, W:rows() do out[i] = filter_stats(W:row(i):totable()[1], h, w, cs) end
  return out
end

-- Orientation difference on the circle of period pi, in [0, pi/2].
local function odiff(a, b)
  local d = math.abs(a - b) % math.pi
  return math.min(d, math.pi - d)
end

-- Mean orientation difference between grid neighbours when unit at grid
-- place p is unit perm[p] (perm nil: the identity).
local function neighbour_mean(ori, gw, gh, wrap, perm)
  local sum, k = 0, 0
  local function at(r, c)
    local p = (r - 1) * gw + c
    return ori[perm and perm[p] or p]
  end
  for r = 1, gh do
    for c = 1, gw do
      if c < gw or wrap then
        sum, k = sum + odiff(at(r, c), at(r, c % gw + 1)), k + 1
      end
      if r < gh or wrap then
        sum, k = sum + odiff(at(r, c), at(r % gh + 1, c)), k + 1
      end
    end
  end
  return sum / k
end

-- The topography score of W (one filter per row; unit j at grid place j,
-- row-major, on a grid `grid` units wide).  opts: h, w (the patch; default
-- square), grid (default: the most square grid), wrap (neighbours across the
-- edges; default true), perms (random permutations for the baseline; 200).
-- Returns {ratio, neighbour, shuffled, shuffled_sd (degrees), orientation
-- (degrees, an array), map (gh x gw matrix of orientations in degrees),
-- filters (sae.topography.filters' array)}.  The permutations draw from the
-- run's generator.
function M.score(W, opts)
  local fname = "sae.topography.score"
  opts = caller.options(opts, fname, { "h", "w", "grid", "wrap", "perms" })
  caller.check(core.ismatrix(W), fname .. ": W must be a matrix (one filter per row)")
  local n = W:rows()
  local gw = opts.grid or grid_width(n)
  caller.check(math.type(gw) == "integer" and gw >= 1 and n % gw == 0, string.format(
    "%s: grid = %s does not tile the %d filters", fname, tostring(gw), n))
  local gh = n // gw
  local wrap = opts.wrap
  if wrap == nil then wrap = true end
  local perms = opts.perms or 200
  caller.check(math.type(perms) == "integer" and perms >= 1,
               fname .. ": perms must be a whole number >= 1")
  local stats = M.filters(W, { h = opts.h, w = opts.w })
  local ori, deg = {}, {}
  for i, s in ipairs(stats) do ori[i], deg[i] = s.orientation, math.deg(s.orientation) end
  local observed = neighbour_mean(ori, gw, gh, wrap)
  local sum, sum2 = 0, 0
  for _ = 1, perms do
    local v = neighbour_mean(ori, gw, gh, wrap, core.randperm(n))
    sum, sum2 = sum + v, sum2 + v * v
  end
  local mean = sum / perms
  local sd = math.sqrt(math.max(0, sum2 / perms - mean * mean))
  local map = core.zeros(gh, gw)
  for r = 1, gh do
    for c = 1, gw do map:set(r, c, deg[(r - 1) * gw + c]) end
  end
  return {
    ratio = observed / mean, neighbour = math.deg(observed), shuffled = math.deg(mean),
    shuffled_sd = math.deg(sd), orientation = deg, map = map, filters = stats,
  }
end

return M
