-- sae.caller: errors that name the script's line, not the library's.
--
--   local caller = require "sae.caller"
--   caller.error("sae.train: epochs is required")      -- raise at the script's line
--   opts = caller.options(opts, "sae.train", {"epochs", "lr"})  -- refuse unknown keys
--   local opt = caller.call(core.sgd, net, {lr = 0.1})  -- a C error re-raised there
--
-- A helper in lua/sae/ may be called by the script or by another helper
-- (sae.models.train_sparse_autoencoder calls sae.plot.curve), so no fixed
-- error() level fits: these walk the stack to the first Lua frame whose
-- source is not in this folder (C frames such as pcall are skipped too) and
-- raise there.  When every frame is the library's (a C test harness), they
-- fall back to the helper's caller, as error(msg, 2) would.
local core = require "sae.core"

local M = {}

-- "@/path/to/lua/sae/": the folder this file (and every helper) was loaded from.
local LIBDIR = debug.getinfo(1, "S").source:match("^(@.*[/\\])[^/\\]*$")

local function in_library(source)
  if LIBDIR then return source:sub(1, #LIBDIR) == LIBDIR end
  return source:find("[/\\]sae[/\\][^/\\]+%.lua$") ~= nil
end

-- The stack level, counted as error() counts it from the function that
-- called the function calling this (`depth` frames above here), of the first
-- frame outside the library.
local function script_level(depth)
  local level = depth + 2
  while true do
    local info = debug.getinfo(level, "S")
    if not info then return depth + 2 end
    if info.what ~= "C" and not in_library(info.source) then return level - depth end
    level = level + 1
  end
end

-- Raise msg (a string) at the script's line.  Never returns.
function M.error(msg)
  error(msg, script_level(1))
end

-- opts checked against keys (an array of names) by sae.check_options, the
-- refusal naming the script's line; nil gives a new empty table.
function M.options(opts, fname, keys)
  local checked = core.check_options(opts, fname, keys, script_level(1))
  return checked -- not a tail call: the level counts this frame
end

-- assert for argument checks: v when it is true, else raises msg at the
-- script's line (assert itself would name the library's).
function M.check(v, msg)
  if not v then error(msg, script_level(1)) end
  return v
end

-- An error f raised at a library line, or at none (a C function's own), is
-- raised again at the script's line without that position.  An error that
-- already names another place (a script callback's) passes through as it is.
-- With prefix, the message is "prefix: message".
local function rethrow(err, prefix)
  if type(err) ~= "string" then error(err, 0) end
  local where, rest = err:match("^(.-):%d+: (.*)$")
  -- the position is short_src: maybe cut to "...tail", so match the tail too
  local ours = where and (in_library("@" .. where) or where:find("[/\\]sae[/\\][^/\\]+%.lua$"))
  if where and not ours then error(err, 0) end
  local msg = rest or err
  if prefix then msg = prefix .. ": " .. msg end
  error(msg, script_level(1))
end

-- An error caught by pcall (err) raised again as rethrow does, saying first
-- where it happened (prefix): the trainer names the epoch and batch of a
-- failed step, and builds that string only when one failed.
function M.rethrow(err, prefix)
  rethrow(err, prefix)
end

local function pass(ok, ...)
  if ok then return ... end
  rethrow((...))
end

-- f(...)'s results, or its error raised at the script's line (see rethrow).
-- No table per call: the trainer wraps every minibatch step in it.
function M.call(f, ...)
  return pass(pcall(f, ...))
end

return M
