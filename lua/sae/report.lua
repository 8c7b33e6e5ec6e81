--[[ sae.report -- the literate report of a run.

A script's block comments that start a line (`--[[`, `--[==[`, any level)
are its prose, in Markdown.  What the script emits (text, tables, figures)
lands in report.md between the prose blocks, each item after the prose that
precedes it in the script.  report.finish() (called by the runtime when the
script returns) also writes metrics.json and run.json.

    local report = require "sae.report"
    report.text("The cost falls steadily.")
    report.table{caption = "Final cost", header = {"beta", "J"}, rows = {{3, 0.0123}}}
    report.matrix(M, {caption = "W1 (first rows)", fmt = "%.2f"})
    report.metric("final_cost", 0.0123)
    report.param("beta", 3)
    report.plot.curve{file = "cost.png", series = {{y = costs, title = "train"}},
                      xlabel = "epoch", ylabel = "J", logy = true, caption = "Cost"}
    report.plot.heatmap(W1, {file = "w1.png", title = "W1", caption = "Filters"})
    report.plot.filters(W1, {file = "filters.png", h = 8, w = 8, caption = "Filters"})
    report.plot.images(patches, {file = "patches.png", h = 8, w = 8, caption = "Data"})

An option or field not listed for a function is an error (a misspelt
`captoin` would otherwise vanish), and every mistake in the arguments is
reported at the script's line (sae.caller), even when another helper
(sae.models) made the call.

Drawing failures never stop a run: without gnuplot (or when gnuplot refuses
the data, e.g. a curve that is all NaN) a warning goes to stderr and the
report says the figure was skipped.

The C side (`sae.core`, lsae_plot.c) supplies plot_available, plot_lines,
plot_heatmap, plot_grid, write_file and mkdir; the runtime supplies core.run and
core.clock.
]]

local core = require "sae.core"
local caller = require "sae.caller"

local report = {}

-- ---- state of the run ---------------------------------------------------

local items = {}          -- emitted items, in order: {line = n|nil, md = "..."}
local metric_names = {}   -- metric names in first-emission order
local metric_values = {}  -- name -> value
local param_names = {}
local param_values = {}
local n_tables, n_figures = 0, 0
local warned_gnuplot = false
local clock_at_load = core.clock and core.clock()

-- ---- helpers --------------------------------------------------------------

-- The line of the run script that is emitting: walking up the stack, the
-- outermost frame whose source is the run script (its main chunk, normally).
-- Not the innermost: a helper defined at line 10 and called at line 50 emits
-- "at line 50", after the prose that introduces the call.  nil when the
-- script is not on the stack (a test harness): the item then follows the
-- previous one without pulling prose ahead of it.
local function script_line()
  local script = core.run and core.run.script
  if not script then return nil end
  local source = "@" .. script
  local line
  local level = 3
  while true do
    local info = debug.getinfo(level, "Sl")
    if not info then return line end
    if info.source == source or info.short_src == script then line = info.currentline end
    level = level + 1
  end
end

local function emit(md)
  items[#items + 1] = {line = script_line(), md = md}
end

local function out_path(file)
  return core.run.out .. "/" .. file
end

local function is_integer_valued(v)
  return math.type(v) == "integer"
end

-- A cell of a table: integers as integers (a count of 60000 should not read
-- 6e+04), other numbers with fmt, anything else with tostring.
local function cell(v, fmt)
  if type(v) == "number" then
    if is_integer_valued(v) then return string.format("%d", v) end
    if v ~= v then return "NaN" end
    if v == math.huge then return "Inf" end
    if v == -math.huge then return "-Inf" end
    return string.format(fmt, v)
  end
  return tostring(v)
end

local function md_cell(s)
  return (s:gsub("\\", "\\\\"):gsub("|", "\\|"):gsub("\n", " "))
end

-- Markdown pipe table; numbers right-aligned.
local function md_table(header, rows, numeric)
  local lines = {}
  local h, sep = {}, {}
  for j, name in ipairs(header) do
    h[j] = md_cell(name)
    sep[j] = numeric[j] and "---:" or "---"
  end
  lines[1] = "| " .. table.concat(h, " | ") .. " |"
  lines[2] = "|" .. table.concat(sep, "|") .. "|"
  for _, row in ipairs(rows) do
    local r = {}
    for j = 1, #header do r[j] = md_cell(row[j] or "") end
    lines[#lines + 1] = "| " .. table.concat(r, " | ") .. " |"
  end
  return table.concat(lines, "\n")
end

-- Plain aligned table for the terminal.
local function text_table(header, rows, numeric)
  local width = {}
  for j, name in ipairs(header) do width[j] = utf8.len(name) or #name end
  for _, row in ipairs(rows) do
    for j = 1, #header do
      local s = row[j] or ""
      width[j] = math.max(width[j], utf8.len(s) or #s)
    end
  end
  local function line(cells)
    local parts = {}
    for j = 1, #header do
      local s = cells[j] or ""
      local pad = string.rep(" ", width[j] - (utf8.len(s) or #s))
      parts[j] = numeric[j] and pad .. s or s .. pad
    end
    return (table.concat(parts, "  "):gsub("%s+$", ""))
  end
  local lines = {line(header)}
  local rule = {}
  for j = 1, #header do rule[j] = string.rep("-", width[j]) end
  lines[2] = table.concat(rule, "  ")
  for _, row in ipairs(rows) do lines[#lines + 1] = line(row) end
  return table.concat(lines, "\n")
end

-- Both renderings of {header, rows of raw values}; a column is numeric when
-- every value in it is a number.
local function emit_table(caption, header, rows, fmt)
  local numeric, cells = {}, {}
  for j = 1, #header do numeric[j] = #rows > 0 end
  for i, row in ipairs(rows) do
    cells[i] = {}
    for j = 1, #header do
      local v = row[j]
      if type(v) ~= "number" then numeric[j] = false end
      cells[i][j] = v == nil and "" or cell(v, fmt)
    end
  end
  n_tables = n_tables + 1
  local md = md_table(header, cells, numeric)
  local shown = text_table(header, cells, numeric)
  if caption then
    md = string.format("*Table %d: %s*\n\n%s", n_tables, caption, md)
    shown = caption .. "\n" .. shown
  end
  emit(md)
  io.stdout:write(shown, "\n\n")
end

-- ---- the API ----------------------------------------------------------------

function report.text(markdown)
  if type(markdown) ~= "string" then
    caller.error("report.text: expected a string, got " .. type(markdown))
  end
  emit(markdown)
  io.stdout:write(markdown, "\n\n")
end

function report.table(t)
  if type(t) ~= "table" then caller.error("report.table: expected a table {header=, rows=}") end
  caller.options(t, "report.table", {"caption", "header", "rows", "fmt"})
  if type(t.header) ~= "table" or #t.header == 0 then
    caller.error("report.table: header must be a non-empty array of strings")
  end
  if type(t.rows) ~= "table" then caller.error("report.table: rows must be an array of arrays") end
  local header = {}
  for j, name in ipairs(t.header) do header[j] = tostring(name) end
  for i, row in ipairs(t.rows) do
    if type(row) ~= "table" then
      caller.error(string.format("report.table: row %d is a %s, not an array", i, type(row)))
    end
    if #row > #header then
      caller.error(string.format("report.table: row %d has %d cells, the header %d", i, #row,
                                 #header))
    end
  end
  emit_table(t.caption, header, t.rows, t.fmt or "%.4g")
end

function report.matrix(M, opts)
  opts = opts or {}
  caller.options(opts, "report.matrix", {"caption", "fmt", "rownames", "colnames"})
  local rows_n, cols_n = M:shape()
  local values = M:totable()
  local header, rows = {}, {}
  local rn, cn = opts.rownames, opts.colnames
  if rn and #rn ~= rows_n then
    caller.error(string.format("report.matrix: %d rownames for %d rows", #rn, rows_n))
  end
  if cn and #cn ~= cols_n then
    caller.error(string.format("report.matrix: %d colnames for %d columns", #cn, cols_n))
  end
  if rn then header[1] = "" end
  for j = 1, cols_n do header[#header + 1] = cn and tostring(cn[j]) or tostring(j) end
  for i = 1, rows_n do
    local row = {}
    if rn then row[1] = tostring(rn[i]) end
    for j = 1, cols_n do row[#row + 1] = values[i][j] end
    rows[i] = row
  end
  emit_table(opts.caption, header, rows, opts.fmt or "%.2f")
end

local function add_figure(file, caption)
  n_figures = n_figures + 1
  local label = caption and string.format("Figure %d: %s", n_figures, caption)
                or string.format("Figure %d", n_figures)
  emit(string.format("![%s](%s)\n\n*%s*", md_cell(caption or file), file, label))
  io.stdout:write(string.format("[%s: %s]\n\n", label, file))
end

function report.figure(file, caption)
  if type(file) ~= "string" then caller.error("report.figure: expected a file name") end
  add_figure(file, caption)
end

local function check_metric(name, value)
  local t = type(value)
  if t == "number" or t == "string" or t == "boolean" then return value end
  if t == "table" then
    local copy = setmetatable({}, {__jsonarray = true})
    for i = 1, #value do
      if type(value[i]) ~= "number" then
        caller.error(string.format("report.metric: %s[%d] is a %s; metrics hold numbers, "
                                   .. "strings, booleans or arrays of numbers", name, i,
                                   type(value[i])))
      end
      copy[i] = value[i]
    end
    return copy
  end
  caller.error(string.format("report.metric: %s is a %s; metrics hold numbers, strings, "
                             .. "booleans or arrays of numbers", name, t))
end

function report.metric(name, value)
  if type(name) ~= "string" then caller.error("report.metric: the name must be a string") end
  value = check_metric(name, value)
  if metric_values[name] == nil then metric_names[#metric_names + 1] = name end
  metric_values[name] = value
end

function report.param(name, value)
  if type(name) ~= "string" then caller.error("report.param: the name must be a string") end
  local t = type(value)
  if t ~= "number" and t ~= "string" and t ~= "boolean" then
    caller.error(string.format("report.param: %s is a %s; parameters are numbers, strings "
                               .. "or booleans", name, t))
  end
  if param_values[name] == nil then param_names[#param_names + 1] = name end
  param_values[name] = value
end

-- ---- figures ----------------------------------------------------------------

-- report.gradcheck(gc, caption [, {tol = }]): a gradient check's result (what
-- net:gradcheck or sae.gradcheck returns) as a table, with the worst entry, and
-- the metric gradcheck_rel_error; raises if it failed, naming the worst entry,
-- so no training runs on a wrong gradient.  tol judges the result afresh
-- (default: gc.tol, the tolerance the check ran with; net:gradcheck takes the
-- same option, the place to set it).
function report.gradcheck(gc, caption, opts)
  opts = caller.options(opts, "sae.report.gradcheck", { "tol" })
  local tol, passed = gc.tol, gc.passed
  if opts.tol ~= nil then
    if type(opts.tol) ~= "number" or not (opts.tol > 0) or opts.tol == math.huge then
      caller.error("sae.report.gradcheck: tol must be a number > 0, got " .. tostring(opts.tol))
    end
    tol = opts.tol
    passed = gc.rel_error < tol
  end
  report.table {
    caption = caption or "Gradient check",
    header = { "entries checked", "||g_num - g|| / ||g_num + g||", "tolerance", "passed",
               "worst entry" },
    rows = { { gc.n, string.format("%.2e", gc.rel_error), string.format("%.0e", tol),
               tostring(passed), gc.message or "" } },
  }
  report.metric("gradcheck_rel_error", gc.rel_error)
  if not passed then
    caller.error(string.format("gradient check failed: relative error %.3g >= %.0e; worst %s",
                               gc.rel_error, tol, gc.message or "entry unknown"))
  end
end

local function check_file(file, what)
  if not (core.run and core.run.out) then -- lua5.4's require "sae", the repl
    caller.error(what .. ": figures go into a run's directory: run the script with saelab run")
  end
  if type(file) ~= "string" or file == "" then
    caller.error(what .. ": file must be a file name such as \"cost.png\"")
  end
  if file:sub(1, 1) == "/" or file:find("%.%.") then
    caller.error(what .. ": file must be a name inside the output directory, not " .. file)
  end
end

-- Draw through core, or record why not.  Never raises for a drawing failure;
-- a file that cannot be written (full disk, file-size limit) is an error.
local function draw(what, file, caption, fn, ...)
  if not core.plot_available() then
    if not warned_gnuplot then
      io.stderr:write("saelab: warning: gnuplot not available (install gnuplot-nox); "
                      .. "figures are skipped\n")
      warned_gnuplot = true
    end
    emit("(figure skipped: gnuplot not available)")
    return false
  end
  local called, ok, err, write_failed = pcall(fn, out_path(file), ...)
  if not called then -- a bad argument: report it against the script's line
    local msg = tostring(ok):gsub("^[^\n]-:%d+: ", "")
    msg = msg:gsub("^bad argument #%d+ to '[^']*' %((.*)%)$", "%1")
    caller.error(what .. ": " .. msg)
  end
  if not ok and write_failed then caller.error(what .. ": " .. err) end
  if not ok then
    io.stderr:write("saelab: warning: ", err, "\n")
    emit(string.format("(figure %s skipped: %s)", file, err))
    return false
  end
  add_figure(file, caption)
  return true
end

local plot = {}
report.plot = plot

-- plot.curve{file=, series={{y=, x=, title=}, ...}, title=, xlabel=, ylabel=,
--            logy=, width=, height=, caption=} -> true, or false when skipped
function plot.curve(t)
  if type(t) ~= "table" then caller.error("plot.curve: expected a table {file=, series=}") end
  caller.options(t, "plot.curve", {"file", "series", "title", "xlabel", "ylabel", "logy",
                                    "width", "height", "caption"})
  check_file(t.file, "plot.curve")
  if type(t.series) ~= "table" then caller.error("plot.curve: series must be an array") end
  return draw("plot.curve", t.file, t.caption, core.plot_lines, t.series,
              {title = t.title, xlabel = t.xlabel, ylabel = t.ylabel, logy = t.logy,
               width = t.width, height = t.height})
end

-- plot.heatmap(M, {file=, title=, xlabel=, ylabel=, width=, height=, caption=})
function plot.heatmap(M, t)
  if type(t) ~= "table" then caller.error("plot.heatmap: expected (M, {file=, ...})") end
  caller.options(t, "plot.heatmap", {"file", "title", "xlabel", "ylabel", "width", "height",
                                      "caption"})
  check_file(t.file, "plot.heatmap")
  return draw("plot.heatmap", t.file, t.caption, core.plot_heatmap, M,
              {title = t.title, xlabel = t.xlabel, ylabel = t.ylabel, width = t.width,
               height = t.height})
end

-- A mosaic of small images, one per row of A (display.h; UFLDL's
-- display_network.m), drawn in grey with square pixels and no axes.
local grid_fields = {"file", "h", "w", "cols", "title", "caption", "normalize", "width",
                     "height"}

local function grid(what, A, t, normalize)
  if type(t) ~= "table" then caller.error(what .. ": expected (A, {file=, h=, w=, ...})") end
  caller.options(t, what, grid_fields)
  check_file(t.file, what)
  return draw(what, t.file, t.caption, core.plot_grid, A,
              {h = t.h, w = t.w, cols = t.cols, normalize = t.normalize or normalize,
               title = t.title, width = t.width, height = t.height})
end

-- plot.filters(A, {file=, h=, w=, cols=, title=, caption=, normalize="each",
--                  width=, height=}): A is n_filters x (h*w), one filter per
-- row, as every type stores its W (pass an encoder's W as it is).  By
-- default each filter gets its own contrast (display_network: subtract the
-- global mean, divide each filter by its largest |value|; black borders at
-- -1).
function plot.filters(A, t)
  return grid("plot.filters", A, t, "each")
end

-- plot.images(A, {file=, h=, w=, cols=, title=, caption=, normalize="none",
--                 width=, height=}): data (patches, digits), one image per row,
-- shown with their values as they are (black = the smallest value).
function plot.images(A, t)
  return grid("plot.images", A, t, "none")
end

-- ---- JSON -----------------------------------------------------------------------
-- Objects are written with sorted keys, or in the order given by a metatable
-- field __jsonorder; a table with metatable field __jsonarray, or a non-empty
-- sequence, is an array.  Non-finite numbers become null.

local json_escapes = {['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                      ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t"}

local function json_string(s)
  if not utf8.len(s) then -- invalid UTF-8: replace stray bytes by U+FFFD
    local parts, i = {}, 1
    while i <= #s do
      local ok, code = pcall(utf8.codepoint, s, i)
      if ok then
        local c = utf8.char(code)
        parts[#parts + 1] = c
        i = i + #c
      else
        parts[#parts + 1] = "\u{FFFD}"
        i = i + 1
      end
    end
    s = table.concat(parts)
  end
  return '"' .. s:gsub('[%c"\\]', function(c)
    return json_escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function json_number(v)
  if math.type(v) == "integer" then return string.format("%d", v) end
  if v ~= v or v == math.huge or v == -math.huge then return "null" end
  local s = string.format("%.15g", v)
  if tonumber(s) ~= v then s = string.format("%.17g", v) end
  return s
end

local json_encode

local function json_table(t, indent)
  local mt = getmetatable(t) or {}
  local inner = indent .. "  "
  local parts = {}
  if mt.__jsonarray or (#t > 0 and not mt.__jsonorder) then
    if #t == 0 then return "[]" end
    local all_numbers = true
    for i = 1, #t do
      parts[i] = json_encode(t[i], inner)
      if type(t[i]) ~= "number" then all_numbers = false end
    end
    if all_numbers then return "[" .. table.concat(parts, ", ") .. "]" end
    return "[\n" .. inner .. table.concat(parts, ",\n" .. inner) .. "\n" .. indent .. "]"
  end
  local keys = mt.__jsonorder
  if not keys then
    keys = {}
    for k in pairs(t) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
  end
  for _, k in ipairs(keys) do
    local v = t[k]
    if v ~= nil then parts[#parts + 1] = json_string(k) .. ": " .. json_encode(v, inner) end
  end
  if #parts == 0 then return "{}" end
  return "{\n" .. inner .. table.concat(parts, ",\n" .. inner) .. "\n" .. indent .. "}"
end

function json_encode(v, indent)
  indent = indent or ""
  local t = type(v)
  if t == "nil" then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then return json_number(v) end
  if t == "string" then return json_string(v) end
  if t == "table" then return json_table(v, indent) end
  return json_string(tostring(v))
end

report.json = json_encode -- for tests and other helpers

local function ordered(t, keys)
  return setmetatable(t, {__jsonorder = keys})
end

-- ---- the script's prose -------------------------------------------------------

-- Block comments starting a line: {line = first line, text = Markdown}.
local function extract_prose(src)
  local blocks = {}
  local text = "\n" .. src -- so that a comment on line 1 starts "after a newline"
  local pos = 1
  while true do
    local s, e, eq = text:find("\n%-%-%[(=*)%[", pos)
    if not s then break end
    local line = select(2, text:sub(1, s):gsub("\n", "")) -- newlines up to s: line number
    local close = "]" .. eq .. "]"
    local cs, ce = text:find(close, e + 1, true)
    local body = text:sub(e + 1, (cs or #text + 1) - 1)
    body = body:gsub("^[ \t]*\r?\n", "")   -- the opener's own line
    body = body:gsub("^[ \t]+", "")         -- or text right after the opener
    body = body:gsub("%-%-[ \t]*$", "")     -- the `--]]` idiom
    body = body:gsub("%s+$", "")
    blocks[#blocks + 1] = {line = line, text = body}
    if not cs then break end
    pos = ce + 1
  end
  return blocks
end

-- The copy of a script read from stdin, in the run's directory.
local STDIN_COPY = "stdin.lua"

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end

local function basename(path)
  return path:match("([^/]+)$") or path
end

-- Quote a word for the shell when it needs it.
local function shell_word(s)
  if s:match("^[%w%._/:=,+@%-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

local function value_text(v)
  if type(v) == "number" then
    if math.type(v) == "integer" then return string.format("%d", v) end
    return cell(v, "%.6g")
  end
  if type(v) == "table" then
    local n = #v
    if n == 0 then return "[]" end
    local shown = {}
    for i = 1, math.min(n, 6) do shown[i] = cell(v[i], "%.4g") end
    if n > 6 then
      return string.format("[%s, ...] (%d values, last %s)", table.concat(shown, ", "), n,
                           cell(v[n], "%.4g"))
    end
    return "[" .. table.concat(shown, ", ") .. "]"
  end
  return tostring(v)
end

-- Wall seconds since the run started.  The runtime may record its own
-- core.clock() reading as run.clock0; otherwise, when core.clock() counts from
-- the epoch, run.started serves; otherwise the time this module was loaded.
local function wall_seconds(run)
  if not core.clock then return os.time() - run.started end
  local now = core.clock()
  if run.clock0 then return now - run.clock0 end
  if run.started and math.abs(now - run.started) < 86400 * 365 then
    return now - run.started
  end
  return now - clock_at_load
end

-- ---- finish -------------------------------------------------------------------

-- "`dense.so` (sha256 0123abcd...), ...": which plugin code the run used
-- (run.json has the full paths and sums).
local function plugin_list(plugins)
  local parts = {}
  for _, p in ipairs(plugins or {}) do
    parts[#parts + 1] = string.format("`%s` (sha256 %s...)", p.file and basename(p.file) or p.name,
                                      tostring(p.sha256 or "?"):sub(1, 12))
  end
  return #parts > 0 and table.concat(parts, ", ") or "none"
end

function report.finish()
  local run = core.run
  if not run then -- lua5.4's require "sae", the repl: no run, no report
    caller.error("report.finish: there is no run to report: run the script with saelab run")
  end
  -- A script read from stdin (`saelab run -`) comes as run.source: the
  -- report keeps a copy, the only one there is, and reproduces from it.
  local src, err = run.source, nil
  if not src then src, err = read_file(run.script) end
  if not src then error("report: cannot read the script: " .. tostring(err), 2) end
  local prose = extract_prose(src)

  -- Title: the first ATX heading of the first prose block, taken out of it.
  local title = "# " .. basename(run.script)
  if prose[1] then
    local lines, found = {}, false
    for line in (prose[1].text .. "\n"):gmatch("([^\n]*)\n") do
      local heading = not found and line:match("^ ? ? ?#+[ \t]+(.-)[ \t#]*$")
      if heading and heading ~= "" then
        title, found = "# " .. heading, true
      else
        lines[#lines + 1] = line
      end
    end
    if found then
      prose[1].text = table.concat(lines, "\n"):gsub("^%s+", ""):gsub("%s+$", "")
    end
  end

  local doc = {title}
  local function add(text)
    if text and text ~= "" then doc[#doc + 1] = text end
  end

  -- Interleave: before an item from line L, every prose block starting before L.
  local p = 1
  for _, item in ipairs(items) do
    if item.line then
      while prose[p] and prose[p].line < item.line do
        add(prose[p].text)
        p = p + 1
      end
    end
    add(item.md)
  end
  while prose[p] do
    add(prose[p].text)
    p = p + 1
  end

  -- Metrics.
  local metrics = ordered({}, metric_names)
  if #metric_names > 0 then
    local rows = {"| metric | value |", "|---|---:|"}
    for _, name in ipairs(metric_names) do
      metrics[name] = metric_values[name]
      rows[#rows + 1] = string.format("| %s | %s |", md_cell(name),
                                      md_cell(value_text(metric_values[name])))
    end
    add("## Metrics\n\n" .. table.concat(rows, "\n"))
  end

  -- Run record.
  local args = run.args or {}
  local command = {"saelab", "run", run.source and "-" or shell_word(run.script),
                   "--seed", tostring(run.seed)}
  for _, k in ipairs(sorted_keys(args)) do
    command[#command + 1] = shell_word(k .. "=" .. tostring(args[k]))
  end
  if run.source then command[#command + 1] = "< " .. STDIN_COPY end
  command = table.concat(command, " ")
  local started = os.date("!%Y-%m-%dT%H:%M:%SZ", run.started)
  local wall = wall_seconds(run)

  local params = ordered({}, param_names)
  local param_list = {}
  for _, name in ipairs(param_names) do
    params[name] = param_values[name]
    param_list[#param_list + 1] = string.format("`%s = %s`", name, value_text(param_values[name]))
  end
  local arg_list = {}
  for _, k in ipairs(sorted_keys(args)) do
    arg_list[#arg_list + 1] = string.format("`%s=%s`", k, tostring(args[k]))
  end

  local record = {
    "## Run record", "",
    string.format("- Script: `%s`", run.script),
    string.format("- Seed: %s", tostring(run.seed)),
    "- Parameters: " .. (#param_list > 0 and table.concat(param_list, ", ") or "none"),
    "- Script arguments: " .. (#arg_list > 0 and table.concat(arg_list, " ") or "none"),
    string.format("- saelab %s; CBLAS: `%s`; GSL %s; %s", tostring(run.version),
                  tostring(run.cblas), tostring(run.gsl), tostring(run.lua)),
    string.format("- Started: %s; wall time: %.3f s", started, wall),
    "- Plugins (search path `" .. table.concat(run.plugin_path or {}, ":") .. "`): " ..
      plugin_list(run.plugins),
    "", "Reproduce with:", "",
    "```sh", command, "```",
  }
  add(table.concat(record, "\n"))

  local run_json = ordered({
    script = run.script, seed = run.seed, params = params,
    args = setmetatable({}, {__index = args, __jsonorder = sorted_keys(args)}),
    version = run.version, cblas = run.cblas, gsl = run.gsl, lua = run.lua,
    started = started, wall_seconds = wall, command = command,
    plugin_path = setmetatable(run.plugin_path or {}, {__jsonarray = true}),
    plugins = setmetatable(run.plugins or {}, {__jsonarray = true}), lua_path = run.lua_path,
  }, {"script", "seed", "params", "args", "version", "cblas", "gsl", "lua", "started",
      "wall_seconds", "command", "plugin_path", "plugins", "lua_path"})

  local files = {
    {"report.md", table.concat(doc, "\n\n") .. "\n"},
    {"metrics.json", json_encode(metrics) .. "\n"},
    {"run.json", json_encode(run_json) .. "\n"},
  }
  if run.source then files[#files + 1] = {STDIN_COPY, run.source} end
  for _, f in ipairs(files) do
    local ok, werr = core.write_file(out_path(f[1]), f[2])
    if not ok then error("report: " .. werr, 2) end
  end
  return true
end

return report
