-- tests/lua/lua_api.lua -- doc/lua-api.md and the code name the same things.
--
-- Every public name is found at run time: the `sae` table walked breadth
-- first (a table of functions is a module, walked; a table of data such as
-- sae.run is one name; a table met again under another name is an alias,
-- one name, not walked twice), the methods and operators of the matrix,
-- model and SGD optimiser metatables, and the functions of every module in
-- lua/sae/ that `sae` does not already reach (`bench.median`).  Every `###`
-- heading of the page names one of them: `### sae.train(net, X, opts)`,
-- `### net:add(type [, opts])`, `### m + B`.  The test fails listing the
-- names without a heading, the headings that name nothing, the functions
-- whose heading lacks a signature and the entries without a ```lua example.
local sae = require "sae"

local names = {} -- name -> "function" | "data" | "operator": what the code has
local reached = {} -- function or table -> true: what `sae` reaches
local function add(name, kind) names[name] = kind end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

local function has_function(t)
  for _, v in pairs(t) do
    if type(v) == "function" then return true end
  end
  return false
end

-- Breadth first, so an alias is the longer name (sae.plot before sae.report.plot).
local queue, first = { { sae, "sae" } }, 1
reached[sae] = true
while queue[first] do
  local t, prefix = queue[first][1], queue[first][2]
  first = first + 1
  for _, k in ipairs(sorted_keys(t)) do
    local v, name = t[k], prefix .. "." .. k
    add(name, type(v) == "function" and "function" or "data")
    if type(v) == "table" and has_function(v) and not reached[v] then
      names[name] = nil -- a module: its members are the names
      queue[#queue + 1] = { v, name }
    end
    if type(v) == "function" or type(v) == "table" then reached[v] = true end
  end
end

-- Objects: the methods in __index, and the operators under the headings a
-- reader looks for.
local OPERATORS = {
  __add = "%s + B", __sub = "%s - B", __mul = "%s * B", __unm = "-%s", __eq = "%s == B",
  __len = "#%s", __tostring = "tostring(%s)", __close = "local %s <close>",
}
local INTERNAL = { __index = true, __gc = true, __name = true }
local net = sae.model(2)
net:add("dense", { n_out = 1 })
net:add("squared_error")
net:build()
local objects = { { "m", sae.matrix(1, 1) }, { "net", net }, { "opt", sae.sgd(net) } }
local operator_heading = {} -- heading text -> name
for _, o in ipairs(objects) do
  local var, mt = o[1], getmetatable(o[2])
  for _, k in ipairs(sorted_keys(mt.__index)) do add(var .. ":" .. k, "function") end
  for _, k in ipairs(sorted_keys(mt)) do
    if OPERATORS[k] then
      local heading = string.format(OPERATORS[k], var)
      operator_heading[heading] = heading
      add(heading, "operator")
    elseif not INTERNAL[k] then
      error(string.format("%s's metatable has %s: give it a heading form in tests/lua/lua_api.lua",
                          var, k))
    end
  end
end

-- Modules reached only through require (lua/sae/*.lua, and the C core).
local top = assert(os.getenv("top_srcdir"), "top_srcdir is not set (make check sets it)")
local modules = { "core" }
local ls = assert(io.popen("ls '" .. top .. "/lua/sae'"))
for file in ls:lines() do
  local m = file:match("^(.-)%.lua$")
  if m and m ~= "init" then modules[#modules + 1] = m end
end
ls:close()
for _, m in ipairs(modules) do
  local mod = require("sae." .. m)
  for _, k in ipairs(sorted_keys(mod)) do
    local v = mod[k]
    if type(v) == "function" and not reached[v] then add(m .. "." .. k, "function") end
  end
end

-- The page's headings; a function's shows its signature, and every entry
-- has an example (a ```lua block before the next heading).
local path = top .. "/doc/lua-api.md"
local documented, where, signature, example = {}, {}, {}, {}
local n, current = 0, nil
local f = assert(io.open(path))
for line in f:lines() do
  n = n + 1
  local text = line:match("^### +(.-)%s*$")
  if text then
    local name = operator_heading[text] or text:match("^([%a_][%w_]*[%.:][%w_%.:]*)") or text
    if documented[name] then
      error(string.format("%s:%d: %s has a heading already at line %d", path, n, name, where[name]))
    end
    documented[name], where[name], signature[name] = true, n, text:find("(", 1, true) ~= nil
    current = name
  elseif line:match("^##? ") then
    current = nil
  elseif current and line:match("^```lua%s*$") then
    example[current] = true
  end
end
f:close()

local missing, extra = {}, {}
for name in pairs(names) do
  if not documented[name] then missing[#missing + 1] = name end
end
for name in pairs(documented) do
  if not names[name] then extra[#extra + 1] = string.format("%s (line %d)", name, where[name]) end
end
local unsigned, no_example = {}, {}
for name, kind in pairs(names) do
  if documented[name] and kind == "function" and not signature[name] then
    unsigned[#unsigned + 1] = string.format("%s (line %d)", name, where[name])
  end
end
for name in pairs(documented) do
  if not example[name] then no_example[#no_example + 1] = string.format("%s (line %d)", name, where[name]) end
end
table.sort(missing)
table.sort(extra)
table.sort(unsigned)
table.sort(no_example)
local problems = {}
if #missing > 0 then
  problems[#problems + 1] = string.format("%d public names without a `### name(...)` heading in "
    .. "doc/lua-api.md: %s", #missing, table.concat(missing, ", "))
end
if #extra > 0 then
  problems[#problems + 1] = string.format("%d headings of doc/lua-api.md name nothing in the "
    .. "code: %s", #extra, table.concat(extra, ", "))
end
if #unsigned > 0 then
  problems[#problems + 1] = "headings of functions without their signature, as in "
    .. "`### sae.train(net, X, opts)`: " .. table.concat(unsigned, ", ")
end
if #no_example > 0 then
  problems[#problems + 1] = "entries without a ```lua example: " .. table.concat(no_example, ", ")
end
if #problems > 0 then error(table.concat(problems, "; "), 0) end
local count = 0
for _ in pairs(names) do count = count + 1 end
print(string.format("lua_api: %d public names, each with its heading", count))
