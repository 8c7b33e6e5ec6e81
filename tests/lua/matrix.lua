-- tests/lua/matrix.lua -- the sae.matrix API seen from a script.
-- Run: saelab run tests/lua/matrix.lua --out DIR   (errors on failure, prints "ok")
local sae = require "sae"

local function check(cond, what)
  if not cond then error("matrix.lua: " .. what, 2) end
end

local expect = require "expect"
local near = expect.near
local fails = expect.raises -- f() must raise an error containing the plain text

-- constructors and shape
local A = sae.matrix{{2.385, -2.25, 0.5}, {3.1, 0.75, -1.2}}
local B = sae.matrix{{0.9, 2.0}, {-1.1, 0.3}, {4.2, -0.7}}
check(sae.ismatrix(A) and not sae.ismatrix({}) and not sae.ismatrix(3), "ismatrix")
local r, c = A:shape()
check(r == 2 and c == 3 and A:rows() == 2 and A:cols() == 3 and #A == 2, "shape")
check(A:get(1, 1) == 2.385 and A:get(2, 3) == -1.2, "get")
check(sae.matrix(2, 3):sum() == 0, "matrix(r,c) is zero")
check(sae.matrix(2, 3, 1.5):sum() == 9, "matrix(r,c,fill)")
check(sae.zeros(3, 2):equal(sae.matrix(3, 2)), "zeros")
check(sae.ones(3, 2):sum() == 6, "ones")
local I = sae.eye(4)
check(I:sum() == 4 and I:get(3, 3) == 1 and I:get(3, 4) == 0, "eye")
check(sae.onehot(8) == sae.eye(8), "onehot is eye")
local oh = sae.onehot(8):argmax()
for i = 1, 8 do check(oh[i] == i, "onehot argmax") end

-- product by hand: C = A B
local C = A * B
check(C:rows() == 2 and C:cols() == 2, "product shape")
near(C:get(1, 1), 6.7215, 1e-12, "C11")
near(C:get(1, 2), 3.745, 1e-12, "C12")
near(C:get(2, 1), -3.075, 1e-12, "C21")
near(C:get(2, 2), 7.265, 1e-12, "C22")
fails("inner dimensions differ: 2x3 times 2x3", function() return A * A end)
check((2 * A):equal(A:copy():scale(2)) and (A * 2) == 2 * A, "scalar product")
check((-A + A):sum() == 0 and (A - A):norm() == 0, "unm, add, sub")
fails("shapes 2x3 and 3x2 differ", function() return A + B end)
fails("shapes 2x3 and 3x2 differ", function() return A - B end)

-- transpose, copy, totable, equality
local At = A:t()
check(At:rows() == 3 and At:cols() == 2 and At:get(3, 2) == -1.2, "t")
check(At:t() == A and A ~= A:copy():set(1, 1, 0), "==")
local C = sae.matrix(4, 3)
check(C:rowrange(2, 3):copy(A) ~= nil and C:rowrange(2, 3) == A and C:row(1):sum() == 0
      and C:row(4):sum() == 0, "copy(B) into a row range")
fails("matrix:copy: shapes 2x3 and 3x2 differ", function() return A:copy(B) end)
local T = A:totable()
check(#T == 2 and #T[1] == 3 and T[2][2] == 0.75, "totable")
check(sae.matrix(T) == A, "totable round trip")
check(A:equal(A + sae.matrix(2, 3, 1e-9), 1e-8) and not A:equal(A + sae.matrix(2, 3, 1e-9)),
      "equal with tol")
check(not A:equal(B, 1), "equal: shapes differ")

-- in place: fill, scale, set, add, sub, axpy return self
local M = sae.matrix(2, 3)
check(M:fill(2) == M and M:sum() == 12, "fill")
check(M:scale(0.5) == M and M:sum() == 6, "scale")
check(M:add(A) == M and M:sub(A) == M and M:equal(sae.ones(2, 3), 1e-15), "add/sub")
check(M:axpy(-2, A) == M, "axpy returns self")
near(M:get(1, 1), 1 - 2 * 2.385, 1e-15, "axpy")
M:set(2, 3, 7.5)
check(M:get(2, 3) == 7.5, "set")

-- views are live
local V = sae.matrix{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}
local row2 = V:row(2)
check(row2:rows() == 1 and row2:cols() == 3 and row2:sum() == 15, "row view")
row2:fill(0)
check(V:get(2, 1) == 0 and V:get(2, 3) == 0 and V:sum() == 30, "row view writes through")
local col3 = V:col(3)
check(col3:rows() == 3 and col3:cols() == 1 and col3:sum() == 12, "col view")
col3:scale(10)
check(V:get(1, 3) == 30 and V:get(3, 3) == 90, "col view writes through")
local rr = V:rowrange(2, 3)
check(rr:rows() == 2 and rr:get(2, 1) == 7, "rowrange")
check(rr:row(2):get(1, 3) == 90, "view of a view")
-- overlapping in-place add still adds the old values
local W = sae.matrix{{1}, {2}, {3}}
W:rowrange(2, 3):add(W:rowrange(1, 2))
check(W == sae.matrix{{1}, {3}, {5}}, "overlapping add")

-- select: minibatches and shuffles
local S = V:select{3, 1, 3}
check(S:rows() == 3 and S:get(1, 1) == 7 and S:get(2, 1) == 1 and S:get(3, 3) == 90, "select")
S:set(1, 1, -1)
check(V:get(3, 1) == 7, "select copies")
fails("out of range 1..3", function() return V:select{1, 4} end)
fails("out of range 1..3", function() return V:select{0} end)

-- reductions
local R = sae.matrix{{1.5, -2}, {4, 0.25}}
near(R:sum(), 3.75, 0, "sum")
near(R:mean(), 0.9375, 0, "mean")
check(R:min() == -2 and R:max() == 4, "min/max")
near(R:norm(), math.sqrt(1.5^2 + 4 + 16 + 0.0625), 1e-14, "norm")
near(R:dot(R:t()), 1.5 * 1.5 + (-2) * 4 + 4 * (-2) + 0.25 * 0.25, 1e-14, "dot")
check(R:rowsum() == sae.matrix{{-0.5}, {4.25}}, "rowsum")
check(R:colmean() == sae.matrix{{2.75, -0.875}}, "colmean")
local am = R:argmax()
check(#am == 2 and am[1] == 1 and am[2] == 1, "argmax")
check(R:hadamard(R) == R:map("square"), "hadamard, square")
check(R:threshold(0.5) == sae.matrix{{1, 0}, {1, 0}}, "threshold")

-- map
near(sae.matrix{{0}}:map("sigmoid"):get(1, 1), 0.5, 0, "sigmoid(0)")
near(sae.matrix{{-800}}:map("sigmoid"):get(1, 1), 0, 0, "sigmoid(-800)")
near(sae.matrix{{0.3}}:map("tanh"):get(1, 1), math.tanh and math.tanh(0.3) or 0.29131261245159090, 1e-15, "tanh")
near(sae.matrix{{1}}:map("exp"):map("log"):get(1, 1), 1, 1e-15, "exp/log")
check(R:map("abs") == sae.matrix{{1.5, 2}, {4, 0.25}}, "abs")
check(sae.matrix{{2.25}}:map("sqrt"):get(1, 1) == 1.5, "sqrt")
check(sae.matrix{{2.5, -2.5, 0.4}}:map("round") == sae.matrix{{3, -3, 0}}, "round")
fails("unknown function 'cube'", function() return R:map("cube") end)
check(R:isfinite() and not sae.matrix{{-1}}:map("log"):map("sqrt"):isfinite(), "isfinite")
check(not sae.matrix{{0}}:map("log"):isfinite(), "log(0) is -inf")

-- format and tostring
check(sae.matrix{{1, -2.5}, {10, 0}}:format() == " 1.0000 -2.5000\n10.0000  0.0000", "format")
check(sae.matrix{{1, 2}}:format("%.1f") == "1.0 2.0", "format(fmt)")
fails("bad format", function() return R:format("%s") end)
check(tostring(R) == R:format(), "tostring small")
local big = tostring(sae.zeros(20, 30))
check(big:find("20x30", 1, true) and big:find("...", 1, true), "tostring large")
local _, lines = big:gsub("\n", "")
check(lines == 11, "tostring large shows 10 rows and '...'")

-- rand follows the run's generator
local U = sae.rand(200, 50, {a = -0.5, b = 2})
check(U:min() >= -0.5 and U:max() < 2 and math.abs(U:mean() - 0.75) < 0.05, "rand uniform")
local N = sae.rand(200, 50, {dist = "normal", mean = 3, sigma = 0.5})
check(math.abs(N:mean() - 3) < 0.02, "rand normal mean")
local sd = math.sqrt((N - sae.matrix(200, 50, N:mean())):map("square"):mean())
check(math.abs(sd - 0.5) < 0.02, "rand normal sigma")
check(sae.rand(3, 3):min() >= 0 and sae.rand(3, 3):max() < 1, "rand default U[0,1)")
fails("dist must be", function() return sae.rand(2, 2, {dist = "cauchy"}) end)
fails("unknown option 'sgima'", function() return sae.rand(2, 2, {dist = "normal", sgima = 1}) end)

-- errors name the function, the argument and the shapes
fails("matrix:add: shapes 3x4 and 4x3 differ", function() return sae.zeros(3, 4):add(sae.zeros(4, 3)) end)
fails("matrix:get: row 0 out of range 1..2", function() return A:get(0, 1) end)
fails("matrix:get: row 3 out of range 1..2", function() return A:get(3, 1) end)
fails("matrix:set: col 4 out of range 1..3", function() return A:set(1, 4, 0) end)
fails("ragged", function() return sae.matrix{{1, 2}, {3}} end)
fails("row 2, col 1 is a string", function() return sae.matrix{{1, 2}, {"x", 3}} end)
fails("rows must be at least 1", function() return sae.matrix(0, 3) end)
fails("cols must be at least 1", function() return sae.zeros(3, -1) end)
fails("argument 1 is a number, not a matrix", function() return A:hadamard(3) end)

-- use after close
local kept, view
do
  local X <close> = sae.matrix{{1, 2}, {3, 4}}
  kept, view = X, X:row(1)
end
fails("closed matrix", function() return kept:sum() end)
fails("view of a closed matrix", function() return view:sum() end)
check(tostring(kept) == "sae.matrix (closed)", "tostring of a closed matrix")

print("ok")
