-- sae.checkpoint: a long run's state on disk, so it can stop and go on.
--
--   sae.checkpoint.save(path, state)      state: a table of numbers, strings,
--                                          booleans and such tables
--   local state = sae.checkpoint.load(path)   nil when there is no file
--
-- A checkpoint is one file, written whole to path.tmp and renamed over path,
-- so a run killed while saving leaves the previous checkpoint intact.  The
-- file is a one-line header, then a Lua table constructor, then the long
-- strings (matrix:tobytes() payloads) it refers to as B(i), each stored raw
-- behind its length (string.pack "<s8").  Floats are written in hexadecimal
-- (%q), so every value comes back bit for bit.  The constructor is run with
-- nothing in its environment but B: data, not code.  A state that cannot be
-- saved (a function, a cycle) is refused at the script's line.
local core = require "sae.core"
local caller = require "sae.caller"

local M = {}

local HEADER = "-- saelab checkpoint 1\n"
local LONG = 4096 -- strings at least this long are stored raw, after the text

local function serialize(v, out, blobs, depth)
  local kind = type(v)
  if kind == "string" and #v >= LONG then
    blobs[#blobs + 1] = v
    out[#out + 1] = "B(" .. #blobs .. ")"
  elseif kind == "number" or kind == "string" or kind == "boolean" then
    out[#out + 1] = string.format("%q", v)
  elseif kind == "table" then
    if depth > 32 then caller.error("sae.checkpoint.save: tables nested too deep (a cycle?)") end
    local keys = {}
    for key in pairs(v) do
      local kk = type(key)
      if kk ~= "number" and kk ~= "string" then
        caller.error("sae.checkpoint.save: a " .. kk .. " key cannot be saved")
      end
      keys[#keys + 1] = key
    end
    -- A fixed order, so the same state gives the same file.
    table.sort(keys, function(a, b)
      if type(a) == type(b) then return a < b end
      return type(a) == "number"
    end)
    out[#out + 1] = "{"
    for _, key in ipairs(keys) do
      out[#out + 1] = "["
      out[#out + 1] = string.format("%q", key)
      out[#out + 1] = "]="
      serialize(v[key], out, blobs, depth + 1)
      out[#out + 1] = ",\n"
    end
    out[#out + 1] = "}"
  else
    caller.error("sae.checkpoint.save: a " .. kind .. " value cannot be saved")
  end
end

function M.save(path, state)
  if type(state) ~= "table" then
    caller.error("sae.checkpoint.save: state must be a table, got " .. type(state))
  end
  local out, blobs = { "return " }, {}
  serialize(state, out, blobs, 0)
  local parts = { HEADER, string.pack("<s8", table.concat(out)) }
  for i, b in ipairs(blobs) do parts[i + 2] = string.pack("<s8", b) end
  local ok, err = core.write_file(path, table.concat(parts))
  if not ok then caller.error(string.format("checkpoint %s: %s", path, err)) end
end

function M.load(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  if not text or text:sub(1, #HEADER) ~= HEADER then
    caller.error(string.format("%s:1: not a saelab checkpoint (delete it to start afresh)", path))
  end
  local ok, body, pos = pcall(string.unpack, "<s8", text, #HEADER + 1)
  local blobs = {}
  while ok and pos <= #text do
    ok, blobs[#blobs + 1], pos = pcall(string.unpack, "<s8", text, pos)
  end
  if not ok then caller.error(string.format("%s: damaged checkpoint (truncated)", path)) end
  local function B(i)
    return blobs[i] or
           error(string.format("%s: damaged checkpoint (no long string %s)", path, i), 0)
  end
  local chunk, err = load(body, "@" .. path, "t", { B = B })
  if not chunk then caller.error(string.format("%s: damaged checkpoint: %s", path, err)) end
  local state
  ok, state = pcall(chunk)
  if not ok or type(state) ~= "table" then
    caller.error(string.format("%s: damaged checkpoint: %s", path, tostring(state)))
  end
  return state
end

return M
