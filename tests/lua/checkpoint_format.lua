-- tests/lua/checkpoint_format.lua -- the checkpoint file is data
-- (src/lsae_checkpoint.h): every value back bit for bit, the same state as
-- the same bytes, and every damaged or foreign file refused with one line
-- naming the byte, never run, never a crash.
local sae = require "sae"
local ck = sae.checkpoint

local function bits(x) return string.pack("<d", x) end
local function from_bits(u) return (string.unpack("<d", string.pack("<I8", u))) end

-- Decoding must fail with one line containing text (and the file's name).
local function refused(text, bytes)
  local ok, err = pcall(ck.decode, bytes, "ck.ck")
  assert(not ok, "decoded: " .. text)
  err = tostring(err)
  assert(err:find(text, 1, true), string.format("'%s' lacks '%s'", err, text))
  assert(err:find("ck.ck: ", 1, true) and not err:find("\n"), "not one line naming the file: " .. err)
  return err
end

-- ---- round trip, bit for bit ----------------------------------------------------
local nan1, nan2 = from_bits(0x7ff8000000000123), from_bits(0xfff0000000000001) -- quiet, signalling
local big = string.rep("\0\255\1saelab", 50 * 2^20 // 9) -- about 50 MB, binary
local state = {
  nan1 = nan1, nan2 = nan2, negzero = -0.0, inf = math.huge, ninf = -math.huge,
  tiny = 5e-324, three = 3, threef = 3.0, maxi = math.maxinteger, mini = math.mininteger,
  two60 = 2^60, empty = "", nul = "a\0b", t = true, f = false, none = {},
  list = { 1, 2.5, "three", { 4 } }, [0.5] = "half", [-7] = "minus seven",
  nested = { a = { b = { c = { d = "deep" } } } }, big = big,
}
local bytes = ck.encode(state)
local back = ck.decode(bytes)
assert(bits(back.nan1) == bits(nan1) and bits(back.nan2) == bits(nan2), "NaN payloads")
assert(bits(back.negzero) == bits(-0.0) and back.inf == math.huge and back.ninf == -math.huge)
assert(back.tiny == 5e-324 and back.two60 == 2^60)
assert(math.type(back.three) == "integer" and math.type(back.threef) == "float")
assert(back.maxi == math.maxinteger and back.mini == math.mininteger)
assert(back.empty == "" and back.nul == "a\0b" and back.t == true and back.f == false)
assert(next(back.none) == nil and back.list[4][1] == 4 and back.list[3] == "three")
assert(back[0.5] == "half" and back[-7] == "minus seven" and back.nested.a.b.c.d == "deep")
assert(back.big == big, "the 50 MB string")
assert(ck.encode(back) == bytes, "decode then encode gives the same bytes")
big, back, bytes, state.big = nil, nil, nil, nil
collectgarbage()

-- the same state, built in another order, is the same bytes
local a, b = {}, {}
for i = 1, 50 do a["k" .. i], a[i] = i, i * 0.5 end
for i = 50, 1, -1 do b[i], b["k" .. i] = i * 0.5, i end
assert(ck.encode(a) == ck.encode(b))

-- what cannot be saved, at the script's line
local expect = require "expect"
expect.raises("function value cannot be saved", ck.encode, { f = print })
expect.raises("boolean key cannot be saved", ck.encode, { [true] = 1 })
local cycle = {}
cycle.self = cycle
expect.raises("nested deeper than 64", ck.encode, cycle)
local deep = {}
for _ = 1, 63 do deep = { deep } end -- 64 tables: the limit, allowed
assert(ck.decode(ck.encode(deep)))
expect.raises("nested deeper than 64", ck.encode, { deep })

-- ---- damaged files ----------------------------------------------------------------
local HEADER = "saelab checkpoint 2\n"
local function u64(n) return string.pack("<I8", n) end
local small = ck.encode({ x = 1.5, name = "abc", list = { 1, true }, blob = "\0\1\2" })
for i = 0, #small - 1 do -- cut at every byte
  local ok, err = pcall(ck.decode, small:sub(1, i), "ck.ck")
  assert(not ok and not tostring(err):find("\n"), "truncated at " .. i)
end
refused("bytes after the end", small .. "x")
refused("string length 1099511627776 exceeds the 3 bytes left",
        HEADER .. "T" .. u64(1) .. "S" .. u64(2^40) .. "abc")
refused("damaged checkpoint at byte 30: string length", -- the length's own byte
        HEADER .. "T" .. u64(1) .. "S" .. u64(2^40) .. "abc")
refused("table of 1152921504606846976 entries exceeds", HEADER .. "T" .. u64(2^60) .. "It")
refused("table of 2 entries exceeds the 10 bytes left", HEADER .. "T" .. u64(2) .. "I" .. u64(1) .. "t")
refused("tables nested deeper than 64", HEADER .. string.rep("T" .. u64(1) .. "I" .. u64(1), 70))
refused("duplicate key", HEADER .. "T" .. u64(2) .. "S" .. u64(1) .. "at" .. "S" .. u64(1) .. "af")
-- (found by the fuzzer: the key's raw bytes broke the message's one line)
refused('duplicate key "a\\nb\\0"', HEADER .. "T" .. u64(2) .. "S" .. u64(4) .. "a\nb\0t" .. "S" .. u64(4) .. "a\nb\0f")
refused("duplicate key 2", HEADER .. "T" .. u64(2) .. "I" .. u64(2) .. "t" .. "F" .. bits(2.0) .. "f")
refused("a NaN key", HEADER .. "T" .. u64(1) .. "F" .. bits(0 / 0) .. "t")
local pad = string.rep("\0", 10) -- room for the entry: the key itself is refused
refused("a boolean key", HEADER .. "T" .. u64(1) .. "t" .. "t" .. pad)
refused("a table key", HEADER .. "T" .. u64(1) .. "T" .. u64(0) .. "t" .. pad)
refused("unknown tag 0x58", HEADER .. "T" .. u64(1) .. "I" .. u64(1) .. "X")
refused("the top value is a string, not a table", HEADER .. "S" .. u64(0))
refused("not a saelab checkpoint", "")
refused("not a saelab checkpoint", "return os.exit(3)\n")
refused("another format version", "saelab checkpoint 3\n" .. "T" .. u64(0))

-- the old format: a Lua chunk (this one would never end) is refused unread
local old = "-- saelab checkpoint 1\n" .. string.pack("<s8", "while true do end return {}")
local err = refused("old saelab checkpoint", old)
assert(err:find("delete it", 1, true))
local path = os.tmpname()
local f = assert(io.open(path, "wb"))
f:write(old)
f:close()
expect.raises(path .. ": an old saelab checkpoint (format 1", ck.load, path)
-- a damaged file on disk: its name and the byte
f = assert(io.open(path, "wb"))
f:write(small:sub(1, #small - 2))
f:close()
expect.raises(path .. ": damaged checkpoint at byte", ck.load, path)
-- save then load, and no temporary file left
ck.save(path, { epoch = 7 })
assert(ck.load(path).epoch == 7 and io.open(path .. ".tmp") == nil)
os.remove(path)
print("checkpoint_format: ok")
