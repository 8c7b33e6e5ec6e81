-- tests/lua/gc_memory.lua -- matrices and models keep their numbers outside
-- Lua's heap; the collector must still collect the ones a script drops, at
-- the pace of their real size (lsae_gc_external).  Before it did, a k-sparse
-- run's classifier phase (a 400 MB encoding per alpha, a fresh encoder model
-- each time) grew to 19.6 GB and was killed; here each loop below would
-- keep about 1.9 GB alive without it.
local sae = require "sae"

local MiB = 2 ^ 20
local function grown(base) return (sae.maxrss() - base) / MiB end

-- 60 dropped 2000 x 2000 matrices (32 MB each, every page written)
local base = sae.maxrss()
for _ = 1, 60 do
  local M = sae.matrix(2000, 2000)
  M:fill(1)
end
assert(grown(base) < 600, string.format("dropped matrices kept: RSS grew %.0f MiB", grown(base)))

-- 24 dropped models, each encoding 10000 rows into 1000 units (its own
-- output and output-gradient buffers, 80 MB, and the 80 MB copy encode returns)
sae.seed(1)
local X = sae.rand(10000, 20)
collectgarbage()
base = sae.maxrss()
for _ = 1, 24 do
  local net = sae.model(20):add("dense", { name = "code", n_out = 1000 }):build()
  local Z = net:encode(X)
  assert(Z:rows() == 10000)
end
assert(grown(base) < 900, string.format("dropped models kept: RSS grew %.0f MiB", grown(base)))
print("ok")
