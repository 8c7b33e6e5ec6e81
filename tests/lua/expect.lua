-- tests/lua/expect.lua -- what the Lua tests share (tests/run-lua.sh puts
-- this folder on the module path):
--
--   local expect = require "expect"
--   expect.raises("not built", f, ...)   f(...) must raise an error whose
--                                        message contains the plain text
--   expect.near(x, y, tol, "what")       |x - y| <= tol (default 1e-12)
local M = {}

function M.raises(text, f, ...)
  local ok, err = pcall(f, ...)
  if ok then error("no error; expected one containing '" .. text .. "'", 2) end
  if not tostring(err):find(text, 1, true) then
    error("error '" .. tostring(err) .. "' lacks '" .. text .. "'", 2)
  end
end

function M.near(x, y, tol, what)
  if not (math.abs(x - y) <= (tol or 1e-12)) then
    error(string.format("%s: %.17g, expected %.17g", what or "value", x, y), 2)
  end
end

return M
