-- sae.data: the data sets experiments use, on top of the C readers.
--
--   local X, digits = sae.data.mnist("train", 10000)   -- X: n x 784 in [0,1]
--   local images, source = sae.data.natural_images { source = "auto" }
--
-- Files live in the data directory (sae.data.dir(): $SAELAB_DATA, else the
-- XDG data directory); `saelab fetch mnist` puts MNIST there.
local core = require "sae.core"
local caller = require "sae.caller"

local M = {}

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

function M.dir() return core.data_dir() end

-- MNIST ("train": 60000, "test": 10000) or Fashion-MNIST (name =
-- "fashion-mnist"): images as rows scaled to [0,1], labels as raw digits 0..9.
function M.idx_set(name, set, n)
  if set ~= "train" and set ~= "test" then
    caller.error(string.format("sae.data.%s: set must be \"train\" or \"test\", got %s",
                               name:gsub("-", "_"), tostring(set)))
  end
  local dir = M.dir() .. "/" .. name
  local prefix = set == "train" and "train" or "t10k"
  local images = dir .. "/" .. prefix .. "-images-idx3-ubyte"
  local labels = dir .. "/" .. prefix .. "-labels-idx1-ubyte"
  if not exists(images) or not exists(labels) then
    caller.error(string.format("%s not found in %s: run `saelab fetch %s` first", name, dir, name))
  end
  local X = core.idx_images(images, n)
  local y = core.idx_labels(labels, n)
  return X, y
end

function M.mnist(set, n) return M.idx_set("mnist", set, n) end
function M.fashion_mnist(set, n) return M.idx_set("fashion-mnist", set, n) end

-- Class numbers 1..K from raw labels 0..K-1 (what losses and scores take).
function M.classes(labels)
  local c = {}
  for i, y in ipairs(labels) do c[i] = y + 1 end
  return c
end

-- Where Olshausen's raw whitened images may be: the data directory, or a
-- `shared/` folder beside the checkout (the developers' and CI's copy).
local OLSHAUSEN_PLACES = { "%s/ufldl/olshausen_trainset", "../shared/data/ufldl/olshausen_trainset" }
-- Debian's python3-skimage ships lossless CC0 textures and photographs.
local PNG_DIRS = { "%s/textures", "/usr/lib/python3/dist-packages/skimage/data" }
local PNG_FILES = { "grass.png", "gravel.png", "brick.png", "camera.png" }

local function olshausen_dir(hint)
  local places = {}
  if hint and hint ~= "" then places[1] = hint end
  for _, p in ipairs(OLSHAUSEN_PLACES) do places[#places + 1] = string.format(p, M.dir()) end
  local env = os.getenv("SAE_OLSHAUSEN_DIR")
  if env and env ~= "" then table.insert(places, 1, env) end
  for _, d in ipairs(places) do
    if exists(d .. "/image0") then return d end
  end
end

local function png_files()
  for _, p in ipairs(PNG_DIRS) do
    local d = string.format(p, M.dir())
    local files = {}
    for _, f in ipairs(PNG_FILES) do
      if exists(d .. "/" .. f) then files[#files + 1] = d .. "/" .. f end
    end
    if #files > 0 then return files end
  end
end

-- Whitened natural images for the patch experiments.
-- opts.source: "auto" (default), "olshausen", "mat" or "png";
-- opts.olshausen: a directory with image0..image9; opts.mat: IMAGES.mat.
-- Returns the images (a Lua array of matrices) and a sentence naming the source.
-- An unknown option is an error.
function M.natural_images(opts)
  opts = caller.options(opts, "sae.data.natural_images", { "source", "olshausen", "mat" })
  local source = opts.source or "auto"
  if source == "mat" or (source == "auto" and opts.mat and opts.mat ~= "") then
    caller.check(opts.mat and opts.mat ~= "",
                 "sae.data.natural_images: source = \"mat\" needs mat = FILE")
    return core.mat(opts.mat, "IMAGES"), "UFLDL's IMAGES.mat (" .. opts.mat .. ")"
  end
  if source == "olshausen" or source == "auto" then
    local d = olshausen_dir(opts.olshausen)
    if d then
      local images = {}
      for i = 0, 9 do images[#images + 1] = core.image_f32be(d .. "/image" .. i, 512, 512) end
      return images, "Olshausen's ten whitened images (" .. d .. ")"
    elseif source == "olshausen" then
      caller.error("Olshausen's images not found: pass olshausen=DIR (with image0..image9)")
    end
  end
  if source == "png" or source == "auto" then
    local files = png_files()
    if files then
      local images = {}
      for i, f in ipairs(files) do images[i] = core.whiten(core.png(f), 0.4) end
      core.scale_variance(images, 0.1)
      local names = {}
      for i, f in ipairs(files) do names[i] = f:match("[^/]+$") end
      return images, "PNG photographs whitened here (" .. table.concat(names, ", ") ..
        " from " .. files[1]:match("^(.*)/") .. ")"
    end
    caller.error("no natural images found: install python3-skimage (its PNG textures), " ..
                 "or pass olshausen=DIR or mat=IMAGES.mat")
  end
  caller.error("sae.data.natural_images: source must be auto, olshausen, mat or png, got " ..
               tostring(source))
end

return M
