-- tests/lua/modelfile.lua -- net:save and sae.load: round trips bit for bit
-- (theta, cost, hyper-parameters changed after build, tied tensors stored
-- once), a file cut at every length, files that are not saelab models, and
-- the weights as another MAT reader sees them (scipy.io.loadmat if
-- installed; always an independent stdlib-only MAT 5 reader).
local sae = require "sae"
local raises = require("expect").raises

local dir = os.tmpname() -- a name of our own; the files sit beside it
local function file(name) return dir .. "." .. name end
local made = {}
local function path(name)
  made[#made + 1] = file(name)
  return file(name)
end

local function read(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write(p, s)
  local f = assert(io.open(p, "wb"))
  f:write(s)
  f:close()
end

-- theta, the cost on X (train mode), the code in eval mode: all equal, bit for bit
local function same_model(a, b, X, code)
  assert(a:nparams() == b:nparams(), "parameter counts differ")
  assert(a:theta():tobytes() == b:theta():tobytes(), "theta differs")
  local ca, cb = a:eval(X), b:eval(X)
  assert(ca == cb, string.format("cost %.17g after load, %.17g before", cb, ca))
  assert(a:grad():tobytes() == b:grad():tobytes(), "gradient differs")
  if code then assert(a:encode(X, code):tobytes() == b:encode(X, code):tobytes(), "code differs") end
  local na, nb = a:nodes(), b:nodes()
  assert(#na == #nb)
  for i = 1, #na do
    for _, k in ipairs { "name", "type", "n_in", "n_out", "input" } do
      assert(na[i][k] == nb[i][k], string.format("node %d: %s %s, was %s", i, k, tostring(nb[i][k]),
                                                 tostring(na[i][k])))
    end
  end
end

-- 1. dense with a tied decoder, sigmoid, KL, squared error and weight decay,
-- trained a little so theta is not its initialisation; a hyper-parameter
-- changed after build must come back at its current value
local X = sae.rand(30, 8)
local net = sae.model(8)
  :add("dense", { n_out = 5, name = "enc" }):add("sigmoid", { name = "code" })
  :add("kl", { rho = 0.05, beta = 2.385 })
  :add("dense", { n_out = 8, tie = "enc", name = "dec" }):add("sigmoid")
  :add("squared_error"):add("l2", { lambda = 3e-3 }):build()
local opt = sae.sgd(net, { lr = 0.5, momentum = 0.9 })
for _ = 1, 5 do opt:step(X) end
net:set("kl_3", "beta", 0.1 + 0.2) -- not a short decimal: must come back bit for bit
local p1 = path("tied.mat")
assert(net:save(p1) == net)
local back = sae.load(p1)
same_model(net, back, X, "code")
assert(back:get("kl_3", "beta") == 0.1 + 0.2 and back:get("kl_3", "rho") == 0.05)
assert(back:get("l2_7", "lambda") == 3e-3)
-- the tied decoder is a view of the encoder's W again (a step moves both)
assert(back:param("dec", "W"):tobytes() == back:param("enc", "W"):tobytes())
-- no temporary file (p1.tmp.PID.N, atomic_write.h) is left behind
local ls = io.popen("ls -d '" .. p1 .. "'.tmp* 2>/dev/null")
assert(ls:read("a") == "", "the temporary file is left behind")
ls:close()
-- a loaded model trains like the original
local opt2 = sae.sgd(back, { lr = 0.5, momentum = 0 })
local opt1 = sae.sgd(net, { lr = 0.5, momentum = 0 })
opt1:step(X)
opt2:step(X)
assert(net:theta():tobytes() == back:theta():tobytes(), "a step after load differs")
-- saving again gives the same bytes (the text and data are deterministic)
net:save(p1)
local again = path("again.mat")
back:save(again)
assert(read(p1) == read(again), "saving the loaded model gives another file")

-- 2. the k-sparse autoencoder (tied, with its usage counts) and a dense + topk
-- model whose k changed after build
local Y = sae.rand(20, 12)
local ks = sae.model(12):add("ksparse", { n_hid = 9, k = 3, alpha = 2, name = "ks" })
  :add("squared_error"):build()
local kopt = sae.sgd(ks, { lr = 0.1 })
for _ = 1, 3 do kopt:step(Y) end
ks:update(Y, 0) -- the usage counts (a NOGRAD tensor) become non-zero
local p2 = path("ksparse.mat")
ks:save(p2)
same_model(ks, sae.load(p2), Y, "ks")

local tk = sae.model(12):add("dense", { n_out = 7, name = "enc" }):add("topk", { k = 4, name = "code" })
  :add("dense", { n_out = 12, name = "dec" }):add("squared_error"):build()
tk:set("code", "k", 2)
local p3 = path("topk.mat")
tk:save(p3)
local tk2 = sae.load(p3)
assert(tk2:get("code", "k") == 2)
same_model(tk, tk2, Y, "code")

-- 3. a file cut short at every length is refused with one line naming it
local whole = read(p1)
local cut = path("cut.mat")
for n = 0, #whole - 1 do
  write(cut, whole:sub(1, n))
  local ok, err = pcall(sae.load, cut)
  assert(not ok, string.format("a file cut to %d of %d bytes loaded", n, #whole))
  err = tostring(err)
  assert(err:find(cut, 1, true) and not err:find("\n"), "cut at " .. n .. ": " .. err)
end

-- 4. what is not a saelab model
raises("/etc/passwd: not a MAT file", sae.load, "/etc/passwd")
raises("cannot open", sae.load, file("none.mat"))
raises("not a regular file", sae.load, "/tmp")
raises("sae.load: unknown option 'check_plugin'", sae.load, p1, { check_plugin = false })
raises("check_plugins must be \"version\" (the default), \"sha256\" or false, got 0", sae.load, p1,
       { check_plugins = 0 })
same_model(net, sae.load(p1, { check_plugins = "sha256" }), X, "code")
raises("not built", function() sae.model(3):add("dense"):save(path("unbuilt.mat")) end)
raises("cannot create", function() net:save(file("nodir") .. "/x/y.mat") end)
-- check_plugins = false loads the same model when nothing changed
same_model(net, sae.load(p1, { check_plugins = false }), X, "code")

-- 5. the weights as other readers see them: enc's W, rows x cols as saelab
-- holds it (MAT is column-major: a transposition gone wrong shows here)
local function python_sees(reader)
  local cmd = string.format("python3 %q %s %q enc_W", os.getenv("top_srcdir") .. "/tests/mat5_read.py",
                            reader, p1)
  local f = assert(io.popen(cmd))
  local out = f:read("a")
  local ok = f:close()
  assert(ok, reader .. " reader failed: " .. out)
  local W = net:param("enc", "W")
  local nums = {}
  for v in out:gmatch("%S+") do nums[#nums + 1] = v end
  assert(tonumber(nums[1]) == W:rows() and tonumber(nums[2]) == W:cols(),
         reader .. " sees " .. nums[1] .. "x" .. nums[2])
  local k = 3
  for i = 1, W:rows() do
    for j = 1, W:cols() do
      assert(tonumber(nums[k]) == W:get(i, j), string.format("%s: W(%d,%d) = %s, expected %.17g",
                                                              reader, i, j, nums[k], W:get(i, j)))
      k = k + 1
    end
  end
  print("modelfile: " .. reader .. " reads enc_W as saelab holds it")
end
if not os.getenv("top_srcdir") or not os.execute("python3 -c '' 2>/dev/null") then
  print("modelfile: SKIP the other-reader checks: python3 or top_srcdir missing")
else
  python_sees("stdlib")
  if os.execute("python3 -c 'import scipy.io' 2>/dev/null") then
    python_sees("scipy")
  else
    print("modelfile: SKIP the scipy.io.loadmat check: python3-scipy is not installed")
  end
end

for _, p in ipairs(made) do os.remove(p) end
os.remove(dir)
