-- tests/lua/latinh.lua -- sae.latinh's builders (tree and 2-D local S, by
-- hand on small cases), set_S and its refusals, pair_stats, the latinh type
-- from Lua (training alone, learned S kept on its constraints, a loss after
-- the code refused at build, a step above 1/L) and bad tree descriptions.
local sae = require "sae"

local expect = require "expect"
local raises, near = expect.raises, expect.near

-- tree_parents: 2 roots, 2 children each, 1 grandchild each: 2 + 4 + 4
local parent = sae.latinh.tree_parents { 2, 2, 1 }
assert(#parent == 10)
local want = { 0, 0, 1, 1, 2, 2, 3, 4, 5, 6 }
for i = 1, 10 do assert(parent[i] == want[i], "parent[" .. i .. "] = " .. parent[i]) end

-- tree_S: a unit's ancestors and descendants are free, everybody else inhibited
local S = sae.latinh.tree_S(parent, { strength = 0.5 })
assert(S:rows() == 10 and S:cols() == 10)
local function free(i, j) return S:get(i, j) == 0 end
assert(free(1, 3) and free(1, 7) and free(3, 7) and free(7, 1))   -- one path: 1 - 3 - 7
assert(not free(3, 4) and S:get(3, 4) == 0.5)                     -- siblings
assert(not free(7, 8) and not free(1, 2) and not free(3, 5))      -- cousins, other tree
for i = 1, 10 do assert(S:get(i, i) == 0) end
assert(S == S:t())
-- unit 7's path: 7, 3, 1: free with 2 others; inhibited with 7 of 9
local row7 = 0
for j = 1, 10 do row7 = row7 + S:get(7, j) end
near(row7, 7 * 0.5, 1e-15, "row 7")

-- not a tree
raises("sae.latinh.tree_S: unit 1's path to the root comes back to unit 1 (a cycle): not a tree",
       sae.latinh.tree_S, { 2, 3, 1 })
raises("parent[2] = 2, its own parent: not a tree", sae.latinh.tree_S, { 0, 2 })
raises("parent[2] = 5 is not a unit index in 1..3 or 0 (a root): not a tree",
       sae.latinh.tree_S, { 0, 5, 1 })
raises("parent[1] = 0.5 is not a unit index", sae.latinh.tree_S, { 0.5 })
raises("parent must be a non-empty array", sae.latinh.tree_S, {})
raises("unknown option 'strenght'", sae.latinh.tree_S, { 0 }, { strenght = 1 })
raises("levels[2] = 0 must be a whole number >= 1", sae.latinh.tree_parents, { 2, 0 })

-- grid_S: 3 x 3, radius 1: the centre is free with all; a corner with its 3 neighbours
local G = sae.latinh.grid_S(3, 3)
assert(G:rows() == 9 and G == G:t())
for j = 1, 9 do assert(G:get(5, j) == 0) end
assert(G:get(1, 2) == 0 and G:get(1, 4) == 0 and G:get(1, 5) == 0 and G:get(1, 3) == 1)
assert(G:get(1, 9) == 1)
local Gw = sae.latinh.grid_S(3, 3, { wrap = true })   -- a 3 x 3 torus: all neighbours
assert(Gw:sum() == 0)
raises("rows and cols must be whole numbers >= 1", sae.latinh.grid_S, 0, 3)

-- set_S into a model; its refusals
local K = 10
local net = sae.model(6):add("latinh", { name = "code", n_hid = K, lambda = 0.05 }):build()
sae.latinh.set_S(net, "code", S)
assert(net:param("code", "S") == S)
raises("sae.latinh.set_S: S is 9 x 9, code has 10 units: S must be 10 x 10",
       sae.latinh.set_S, net, "code", G)
local bad = S:copy(); bad:set(2, 3, -1); bad:set(3, 2, -1)
raises("S[2,3] = -1: inhibition must be finite and >= 0", sae.latinh.set_S, net, "code", bad)
bad = S:copy(); bad:set(2, 3, 0.7)
raises("S must be symmetric", sae.latinh.set_S, net, "code", bad)
bad = S:copy(); bad:set(4, 4, 1)
raises("the diagonal must be 0", sae.latinh.set_S, net, "code", bad)
-- a negative entry written straight into the parameter: forward refuses it
net:param("code", "S"):set(1, 2, -0.25)
raises("S[1,2] = -0.25: inhibition must be finite and >= 0", net.forward, net, sae.rand(3, 6))
net:param("code", "S"):set(1, 2, 0.5)

-- the codes are sae.sparse_code's on the same problem; the cost is the mean energy
local X = sae.rand(20, 6)
local cost = net:cost(X)
local Z, info = sae.sparse_code(net:param("code", "D"), X,
  { lambda = 0.05, nonneg = true, S = S, max_iter = 200, tol = 1e-6 })
assert(net:output("code"):equal(Z, 1e-14))
near(cost, info.energy / 20, 1e-12, "cost = mean energy")

-- pair_stats: two units always together, a third alone
local Zs = sae.matrix { { 1, 1, 0 }, { 1, 1, 0 }, { 0, 0, 2 }, { 0, 0, 0 } }
local R = sae.matrix { { 0, 0, 1 }, { 0, 0, 1 }, { 1, 1, 0 } }
local st = sae.latinh.pair_stats(Zs, R, sae.matrix { { 1, 0 }, { 1, 0 }, { 0, 1 } })
assert(st.n_free == 1 and st.n_inhibited == 2)
near(st.coact_free, 0.5); near(st.coact_inhibited, 0); near(st.lift_free, 2)
near(st.cos_free, 1); near(st.cos_inhibited, 0)

-- a latinh model trains alone (its energy is the cost); a learned S stays on its constraints
local ln = sae.model(6):add("latinh", { name = "code", n_hid = 8, learn_S = 1, s_row = 0.2,
                                        lambda = 0.05 }):build()
local hist = sae.train(ln, sae.rand(40, 6), { epochs = 5, lr = 0.1, batch = 10, quiet = true })
assert(#hist.cost == 5)
local LS = ln:param("code", "S")
assert(LS == LS:t() and LS:min() >= 0)
for i = 1, 8 do
  assert(LS:get(i, i) == 0)
  near(LS:row(i):sum(), 0.2, 1e-8, "row sum of learned S")
  near(ln:param("code", "D"):row(i):norm(), 1, 1e-12, "unit atom")
end

-- a loss after the code is refused at build; a step above 1/L at forward
raises("mse (squared_error) is downstream of code (latinh), whose code is an argmin",
       function()
         sae.model(6):add("latinh", { name = "code" }):add("dense", { n_out = 6 })
           :add("squared_error", { name = "mse" }):build()
       end)
local big = sae.model(6):add("latinh", { name = "code", step = 5 }):build()
raises("step eta = 5 is above 1/L", big.forward, big, sae.rand(2, 6))
