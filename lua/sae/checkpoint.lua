-- sae.checkpoint: a long run's state on disk, so it can stop and go on.
--
--   sae.checkpoint.save(path, state)      state: a table of numbers, strings,
--                                          booleans and such tables
--   local state = sae.checkpoint.load(path)   nil when there is no file
--   local bytes = sae.checkpoint.encode(state)   the file's bytes
--   local state = sae.checkpoint.decode(bytes [, name])
--
-- A checkpoint is one file, written whole to path.tmp and renamed over path,
-- so a run killed while saving leaves the previous checkpoint intact.  The
-- format is binary data (src/lsae_checkpoint.h): type-tagged values with
-- explicit lengths, integers and floats kept apart, floats as their bits,
-- strings raw, each table's keys sorted (the same state gives the same
-- bytes).  Reading executes nothing: the C decoder checks every length
-- against the bytes left before allocating, and a damaged file is refused
-- with one line naming the byte.  A state that cannot be saved (a function,
-- a cycle) is refused at the script's line.
local core = require "sae.core"
local caller = require "sae.caller"

local M = {}

function M.encode(state)
  local bytes, err = core.internal.checkpoint_encode(state)
  if not bytes then caller.error("sae.checkpoint.save: " .. err) end
  return bytes
end

function M.decode(bytes, name)
  if type(bytes) ~= "string" then
    caller.error("sae.checkpoint.decode: bytes must be a string, got " .. type(bytes))
  end
  local state, err = core.internal.checkpoint_decode(bytes)
  if not state then caller.error(string.format("%s: %s", name or "checkpoint", err)) end
  return state
end

function M.save(path, state)
  local ok, err = core.write_file(path, M.encode(state))
  if not ok then caller.error(string.format("checkpoint %s: %s", path, err)) end
end

function M.load(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local bytes, err = f:read("a")
  f:close()
  if not bytes then caller.error(string.format("%s: cannot read: %s", path, tostring(err))) end
  return M.decode(bytes, path)
end

return M
