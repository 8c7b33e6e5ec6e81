/* lsae_model.c -- Lua bindings of models and the SGD optimiser.
 *
 *   local net = sae.model(8)                       -- 8 inputs
 *   net:add("dense", {n_out = 3, name = "enc"})    -- hyper-parameters + name/input/tie/share
 *   net:add("sigmoid", {name = "code"})
 *   net:build()                                    -- seeded init from the run's generator
 *   local cost = net:eval(X)                       -- cost, gradient in net:grad()
 *   local opt = sae.sgd(net, {lr = 0.3, momentum = 0})
 *   opt:step(batch)                                -- one minibatch step
 *   opt = sae.sgd(net, {precision = 32})           -- steps on a float copy of theta;
 *   opt:sync()                                     -- written back into theta and v
 *   net:update(X, eta)                             -- a non-gradient rule (arora)
 *   net:project()                                  -- norm constraints
 *   local Z = net:encode(X)                        -- the output of node "code";
 *   Z = net:encode(X, {code = "enc"})              -- or of the node chosen
 *
 * Node arguments are names or 1-based indices.  Targets default to the
 * input (an autoencoder); labels are 1-based class numbers.  Every option
 * table is strict: a key the function does not know is an error that lists
 * the known ones (lsae_check_options), so a misspelt `momentun` or `n_uot`
 * cannot pass unnoticed.  Optimisers refuse a model that nothing adds cost
 * to (no loss node); such a model can still encode. */
#include <math.h>
#include <string.h>
#include "gradcheck.h"
#include "lsae.h"
#include "model.h"
#include "optim.h"
#include "registry.h"

typedef struct lsae_model {
  sae_model *m;   /* NULL once freed */
  size_t counted; /* bytes of its buffers already reported to the collector */
} lsae_model;

typedef struct lsae_sgd {
  sae_sgd *s; /* NULL once freed; the model is kept alive by the user value */
} lsae_sgd;

static lsae_model *check_box(lua_State *L, int arg) {
  return luaL_checkudata(L, arg, LSAE_MODEL);
}

/* The model at idx may have grown its buffers (a batch larger than any
 * before: encoding 50000 images reserves 400 MB per node): report the
 * growth to the collector (lsae_gc_external), so models dropped by a
 * script are collected at the pace of their real size. */
static void model_grew(lua_State *L, int idx) {
  lsae_model *box = check_box(L, idx);
  if (!box->m) return;
  const size_t now = sae_model_heap_bytes(box->m);
  if (now > box->counted) {
    const size_t grown = now - box->counted;
    box->counted = now;
    lsae_gc_external(L, grown);
  }
}

static sae_model *check_model(lua_State *L, int arg) {
  lsae_model *box = check_box(L, arg);
  if (!box->m) luaL_error(L, "model used after it was closed");
  return box->m;
}

sae_model *lsae_checkmodel(lua_State *L, int arg) { return check_model(L, arg); }

sae_model **lsae_newmodel(lua_State *L) {
  lsae_model *box = lua_newuserdatauv(L, sizeof *box, 0);
  box->m = NULL;
  box->counted = 0;
  luaL_setmetatable(L, LSAE_MODEL);
  return &box->m;
}

static int model_gc(lua_State *L) {
  lsae_model *box = check_box(L, 1);
  sae_model_free(box->m);
  box->m = NULL;
  return 0;
}

/* sae.model(n_in) */
static int l_model(lua_State *L) {
  lua_Integer n_in = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n_in >= 1, 1, "the number of inputs must be >= 1");
  sae_model **slot = lsae_newmodel(L);
  if (!(*slot = sae_model_alloc((size_t)n_in))) return luaL_error(L, "out of memory");
  return 1;
}

/* A node argument: a name or a 1-based index; returns the 0-based index. */
static size_t check_node(lua_State *L, sae_model *m, int arg) {
  if (lua_type(L, arg) == LUA_TNUMBER) {
    lua_Integer i = luaL_checkinteger(L, arg);
    if (i < 1 || (size_t)i > sae_model_nodes(m))
      luaL_error(L, "no node %d (the model has %d)", (int)i, (int)sae_model_nodes(m));
    return (size_t)i - 1;
  }
  const char *name = luaL_checkstring(L, arg);
  int i = sae_model_find(m, name);
  if (i < 0) luaL_error(L, "no node named \"%s\"", name);
  return (size_t)i;
}

static const char *opt_string(lua_State *L, int idx, const char *key) {
  if (lua_isnoneornil(L, idx)) return NULL;
  lua_getfield(L, idx, key);
  const char *s = NULL;
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "%s must be a node name (a string), got %s", key, luaL_typename(L, -1));
    s = lua_tostring(L, -1); /* stays alive: the table holds it */
  }
  lua_pop(L, 1);
  return s;
}

static const char *const add_special[] = {"name", "input", "tie", "share", NULL};

/* Refuse a key of net:add's options (at idx) that is neither one of the
 * type's hyper-parameters nor name/input/tie/share, listing both. */
static void add_check_options(lua_State *L, int idx, const sae_type *t) {
  if (lua_isnil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  size_t nh = sae_type_hparam_count(t), ns = sizeof add_special / sizeof *add_special;
  const char **keys = lua_newuserdatauv(L, (nh + ns) * sizeof *keys, 0); /* freed by the GC */
  for (size_t i = 0; i < nh; i++) keys[i] = t->hparams[i].name;
  for (size_t i = 0; i < ns; i++) keys[nh + i] = add_special[i]; /* with its NULL */
  lua_pushfstring(L, "net:add(\"%s\")", t->name);
  lsae_check_options(L, idx, lua_tostring(L, -1), keys);
  lua_pop(L, 2);
}

/* net:add(type [, {hyper-parameters..., name=, input=, tie=, share=}]) -> net
 * A key that is neither a hyper-parameter of the type nor one of the four is
 * refused, naming both lists. */
static int l_add(lua_State *L) {
  sae_model *m = check_model(L, 1);
  const char *tname = luaL_checkstring(L, 2);
  lua_settop(L, 3); /* the options (or nil) at 3, scratch above */
  const sae_type *t = sae_registry_find(lsae_registry(L), tname);
  if (!t) return luaL_error(L, "unknown type '%s' (saelab plugins lists the types)", tname);
  add_check_options(L, 3, t);
  lsae_hp *hp = lua_newuserdatauv(L, sizeof *hp, 0);
  lsae_read_hparams(L, 3, add_special, hp);
  const char *name = opt_string(L, 3, "name"), *input = opt_string(L, 3, "input");
  const char *tie = opt_string(L, 3, "tie"), *share = opt_string(L, 3, "share");
  sae_error e = {0, ""};
  int rc = sae_model_add(m, t, name, input, tie, share, hp->n, hp->name, hp->value, &e);
  if (rc) return lsae_fail(L, rc, &e);
  lua_settop(L, 1);
  return 1;
}

/* net:build() -> net */
static int l_build(lua_State *L) {
  sae_model *m = check_model(L, 1);
  sae_error e = {0, ""};
  int rc = sae_model_build(m, lsae_rng(L), &e);
  if (rc == SAE_ENOMEM) return luaL_error(L, "net:build: %s", e.msg); /* says how many bytes */
  if (rc) return lsae_fail(L, rc, &e);
  lua_settop(L, 1);
  model_grew(L, 1);
  return 1;
}

static sae_model *check_built(lua_State *L, int arg) {
  sae_model *m = check_model(L, arg);
  if (!sae_model_theta(m)) luaL_error(L, "the model is not built: call net:build() first");
  return m;
}

static int l_nparams(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)sae_model_theta(check_built(L, 1))->size);
  return 1;
}

static int push_vector_view(lua_State *L, gsl_vector *v) {
  if (v->size == 0) return luaL_error(L, "the model has no parameters");
  lsae_pushview(L, gsl_matrix_view_vector(v, v->size, 1).matrix, 1);
  return 1;
}

/* net:theta() / net:grad(): live n x 1 views of the parameter block. */
static int l_theta(lua_State *L) { return push_vector_view(L, sae_model_theta(check_built(L, 1))); }
static int l_grad(lua_State *L) { return push_vector_view(L, sae_model_grad(check_built(L, 1))); }

/* net:param(node, tensor) -> live view of one tensor */
static int l_param(lua_State *L) {
  sae_model *m = check_built(L, 1);
  size_t i = check_node(L, m, 2);
  const char *tname = luaL_checkstring(L, 3);
  gsl_matrix *view;
  sae_error e = {0, ""};
  int rc = sae_model_tensor(m, i, tname, &view, &e);
  if (rc) return lsae_fail(L, rc, &e);
  lsae_pushview(L, *view, 1);
  return 1;
}

void lsae_read_batch(lua_State *L, int xarg, int optarg, sae_batch *b) {
  const gsl_matrix *x = lsae_checkmatrix(L, xarg);
  b->m = x->size1;
  b->x = x;
  b->target = x;
  b->labels = NULL;
  b->mode = SAE_MODE_TRAIN;
  if (lua_isnoneornil(L, optarg)) return;
  luaL_checktype(L, optarg, LUA_TTABLE);
  lua_getfield(L, optarg, "target");
  if (!lua_isnil(L, -1)) {
    b->target = lsae_checkmatrix(L, -1);
    if (b->target->size1 != b->m)
      luaL_error(L, "target has %d rows, the input %d", (int)b->target->size1, (int)b->m);
  }
  lua_pop(L, 1); /* the options table keeps it alive */
  lua_getfield(L, optarg, "mode");
  if (!lua_isnil(L, -1)) {
    const char *mode = luaL_checkstring(L, -1);
    if (strcmp(mode, "eval") == 0) b->mode = SAE_MODE_EVAL;
    else if (strcmp(mode, "train") != 0) luaL_error(L, "mode must be \"train\" or \"eval\", got \"%s\"", mode);
  }
  lua_pop(L, 1);
  lua_getfield(L, optarg, "labels");
  if (!lua_isnil(L, -1)) {
    luaL_checktype(L, -1, LUA_TTABLE);
    int tbl = lua_gettop(L);
    if (lua_rawlen(L, tbl) != b->m)
      luaL_error(L, "labels has %d entries, the input %d rows", (int)lua_rawlen(L, tbl), (int)b->m);
    size_t *lab = lua_newuserdatauv(L, b->m * sizeof *lab, 0);
    for (size_t i = 0; i < b->m; i++) {
      lua_rawgeti(L, tbl, (lua_Integer)i + 1);
      int isint;
      lua_Integer v = lua_tointegerx(L, -1, &isint);
      if (!isint || v < 1) luaL_error(L, "labels[%d] must be a class number >= 1", (int)i + 1);
      lab[i] = (size_t)(v - 1);
      lua_pop(L, 1);
    }
    b->labels = lab;
    lua_replace(L, tbl); /* keep the buffer alive in the labels' slot */
  } else {
    lua_pop(L, 1);
  }
}

/* lsae_read_batch with its options checked: fname's batch options are
 * target, labels and mode.  (lsae_read_batch itself stays lenient for
 * callers whose tables carry more keys: sae.lbfgs checks its own.) */
static void read_batch(lua_State *L, int xarg, int optarg, const char *fname, sae_batch *b) {
  static const char *const keys[] = {"target", "labels", "mode", NULL};
  if (!lua_isnoneornil(L, optarg)) {
    luaL_checktype(L, optarg, LUA_TTABLE);
    lsae_check_options(L, optarg, fname, keys);
  }
  lsae_read_batch(L, xarg, optarg, b);
}

void lsae_check_has_cost(lua_State *L, const sae_model *m) {
  if (!sae_model_has_cost(m))
    luaL_error(L, "the model has no loss node: add one, e.g. net:add(\"squared_error\")");
}

/* net:forward(X [, {target=, labels=, mode=}]) -> cost; net:cost is its
 * other name (errors say which one the script called). */
static int forward(lua_State *L, const char *fname) {
  sae_model *m = check_built(L, 1);
  sae_batch b;
  read_batch(L, 2, 3, fname, &b);
  double cost;
  sae_error e = {0, ""};
  int rc = sae_model_forward(m, &b, &cost, &e);
  model_grew(L, 1);
  if (rc) return lsae_fail(L, rc, &e);
  lua_pushnumber(L, cost);
  return 1;
}

static int l_forward(lua_State *L) { return forward(L, "net:forward"); }
static int l_cost(lua_State *L) { return forward(L, "net:cost"); }

/* net:eval(X [, {target=, labels=, mode=}]) -> cost (gradient in net:grad()) */
static int l_eval(lua_State *L) {
  sae_model *m = check_built(L, 1);
  sae_batch b;
  read_batch(L, 2, 3, "net:eval", &b);
  double cost;
  sae_error e = {0, ""};
  int rc = sae_model_eval(m, &b, &cost, &e);
  model_grew(L, 1);
  if (rc) return lsae_fail(L, rc, &e);
  lua_pushnumber(L, cost);
  return 1;
}

/* net:update(X, eta [, {target=, labels=}]) -> n_updated, cost: forward on X in TRAIN mode,
 * then every node's non-gradient learning rule (type->update, e.g. arora's
 * Hebbian step) with step size eta.  n_updated counts the nodes that have
 * one; cost is the forward's, before the update.  Norm constraints are
 * net:project()'s (arora renormalises inside its own update). */
static int l_update(lua_State *L) {
  sae_model *m = check_built(L, 1);
  double eta = luaL_checknumber(L, 3);
  sae_batch b;
  read_batch(L, 2, 4, "net:update", &b);
  if (b.mode != SAE_MODE_TRAIN) return luaL_error(L, "net:update runs in train mode, not eval");
  double cost;
  int n_updated = 0;
  sae_error e = {0, ""};
  int rc = sae_model_forward(m, &b, &cost, &e);
  if (!rc) rc = sae_model_update(m, &b, eta, &n_updated, &e);
  model_grew(L, 1);
  if (rc) return lsae_fail(L, rc, &e);
  lua_pushinteger(L, n_updated);
  lua_pushnumber(L, cost);
  return 2;
}

/* net:project() -> net: every node's project() (unit-norm atoms, ...). */
static int l_project(lua_State *L) {
  sae_model *m = check_built(L, 1);
  sae_error e = {0, ""};
  int rc = sae_model_project(m, &e);
  if (rc) return lsae_fail(L, rc, &e);
  lua_settop(L, 1);
  return 1;
}

static void push_copy(lua_State *L, const gsl_matrix *a) {
  gsl_matrix *c = lsae_newmatrix(L, a->size1, a->size2);
  gsl_matrix_memcpy(c, a);
}

/* net:output(node) -> copy of the node's output from the last forward */
static int l_output(lua_State *L) {
  sae_model *m = check_built(L, 1);
  size_t i = check_node(L, m, 2);
  const gsl_matrix *y = sae_model_output(m, i);
  if (!y) return luaL_error(L, "no output yet: run forward or eval first");
  if (sae_model_node(m, i)->type->kind == SAE_KIND_REGULARIZER)
    return luaL_error(L, "node %s is a regularizer: it has no output", sae_model_node_name(m, i));
  push_copy(L, y);
  return 1;
}

/* The code node of encode/decode: the argument at arg is a node (name or
 * 1-based index), or {code = node}, or absent: the node named "code". */
static size_t code_node(lua_State *L, sae_model *m, int arg, const char *fname) {
  static const char *const keys[] = {"code", NULL};
  if (lua_istable(L, arg)) {
    lsae_check_options(L, arg, fname, keys);
    lua_getfield(L, arg, "code");
    lua_replace(L, arg); /* the node, or nil: the default */
  }
  if (!lua_isnoneornil(L, arg)) return check_node(L, m, arg);
  int i = sae_model_find(m, "code");
  if (i < 0)
    luaL_error(L, "%s: no node named \"code\": name the code node so "
                  "(net:add(type, {name = \"code\"})) or pass its name (%s(X, {code = \"enc\"}))",
               fname, fname);
  return (size_t)i;
}

/* net:encode(X [, node | {code = node}]) -> the code (eval mode): the output
 * of node (default: the node named "code"), running only what it needs. */
static int l_encode(lua_State *L) {
  sae_model *m = check_built(L, 1);
  const gsl_matrix *x = lsae_checkmatrix(L, 2);
  sae_batch b = {x->size1, x, NULL, NULL, SAE_MODE_EVAL, NULL, NULL};
  size_t i = code_node(L, m, 3, "net:encode");
  const gsl_matrix *z;
  sae_error e = {0, ""};
  int rc = sae_model_encode(m, &b, i, &z, &e);
  model_grew(L, 1);
  if (rc) return lsae_fail(L, rc, &e);
  push_copy(L, z);
  return 1;
}

/* net:decode(Z [, node | {code = node}]) -> what the layers after node
 * (default: the node named "code") make of Z */
static int l_decode(lua_State *L) {
  sae_model *m = check_built(L, 1);
  const gsl_matrix *z = lsae_checkmatrix(L, 2);
  size_t i = code_node(L, m, 3, "net:decode");
  const gsl_matrix *out;
  sae_error e = {0, ""};
  int rc = sae_model_decode(m, i, z, &out, &e);
  model_grew(L, 1);
  if (rc) return lsae_fail(L, rc, &e);
  push_copy(L, out);
  return 1;
}

/* net:set(node, name, value) -> net ; net:get(node, name) -> value */
static int l_set(lua_State *L) {
  sae_model *m = check_model(L, 1);
  size_t i = check_node(L, m, 2);
  const char *name = luaL_checkstring(L, 3);
  double v = luaL_checknumber(L, 4);
  sae_error e = {0, ""};
  int rc = sae_model_set_hp(m, i, name, v, &e);
  if (rc) return lsae_fail(L, rc, &e);
  lua_settop(L, 1);
  return 1;
}

static int l_get(lua_State *L) {
  sae_model *m = check_model(L, 1);
  size_t i = check_node(L, m, 2);
  const char *name = luaL_checkstring(L, 3);
  int found;
  double v = sae_model_get_hp(m, i, name, &found);
  if (!found)
    return luaL_error(L, "%s (%s) has no hyper-parameter '%s'", sae_model_node_name(m, i),
                      sae_model_node(m, i)->type->name, name);
  lua_pushnumber(L, v);
  return 1;
}

/* net:nodes() -> { {name, type, kind, n_in, n_out, input}, ... } */
static int l_nodes(lua_State *L) {
  sae_model *m = check_model(L, 1);
  lua_newtable(L);
  for (size_t i = 0; i < sae_model_nodes(m); i++) {
    const sae_node *nd = sae_model_node(m, i);
    lua_newtable(L);
    lua_pushstring(L, sae_model_node_name(m, i));
    lua_setfield(L, -2, "name");
    lua_pushstring(L, nd->type->name);
    lua_setfield(L, -2, "type");
    lua_pushstring(L, sae_kind_name(nd->type->kind));
    lua_setfield(L, -2, "kind");
    lua_pushinteger(L, (lua_Integer)nd->n_in);
    lua_setfield(L, -2, "n_in");
    lua_pushinteger(L, (lua_Integer)nd->n_out);
    lua_setfield(L, -2, "n_out");
    int in = sae_model_node_input(m, i);
    if (in >= 0) lua_pushstring(L, sae_model_node_name(m, (size_t)in));
    else lua_pushstring(L, in == -1 ? "input" : "");
    lua_setfield(L, -2, "input");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* net:gradcheck(X [, {target=, labels=, mode=, tol=}]) -> the table of
 * lsae_push_gradcheck.  tol replaces the default tolerance (1e-9, or 1e-6
 * with a NONSMOOTH node): a wide model's cost summed over many outputs has
 * more rounding in its central differences than the per-type checks. */
static int l_gradcheck(lua_State *L) {
  static const char *const keys[] = {"target", "labels", "mode", "tol", NULL};
  sae_model *m = check_built(L, 1);
  double tol = 0; /* the default */
  if (lua_istable(L, 3)) {
    lsae_check_options(L, 3, "net:gradcheck", keys);
    lua_getfield(L, 3, "tol");
    if (!lua_isnil(L, -1)) {
      int isnum;
      tol = lua_tonumberx(L, -1, &isnum);
      if (!isnum || !(tol > 0) || !isfinite(tol))
        return luaL_error(L, "net:gradcheck: tol must be a number > 0, got %s",
                          luaL_tolstring(L, -1, NULL));
    }
    lua_pop(L, 1);
  }
  sae_batch b;
  lsae_read_batch(L, 2, 3, &b);
  sae_gradcheck_result r;
  sae_error e = {0, ""};
  int rc = sae_gradcheck_model_tol(m, &b, tol, &r, &e);
  if (rc) return lsae_fail(L, rc, &e);
  lsae_push_gradcheck(L, &r);
  return 1;
}

static int l_model_tostring(lua_State *L) {
  lsae_model *box = check_box(L, 1);
  if (!box->m) {
    lua_pushliteral(L, "sae.model (closed)");
    return 1;
  }
  sae_model *m = box->m;
  luaL_Buffer buf;
  luaL_buffinit(L, &buf);
  lua_pushfstring(L, "sae.model: %d inputs", (int)sae_model_n_in(m));
  luaL_addvalue(&buf);
  for (size_t i = 0; i < sae_model_nodes(m); i++) {
    const sae_node *nd = sae_model_node(m, i);
    lua_pushfstring(L, "\n  %s: %s (%s) %d -> %d", sae_model_node_name(m, i), nd->type->name,
                    sae_kind_name(nd->type->kind), (int)nd->n_in, (int)nd->n_out);
    luaL_addvalue(&buf);
  }
  if (sae_model_theta(m)) {
    lua_pushfstring(L, "\n  %d parameters", (int)sae_model_theta(m)->size);
    luaL_addvalue(&buf);
  }
  luaL_pushresult(&buf);
  return 1;
}

/* ---- SGD ---------------------------------------------------------------- */

static lsae_sgd *check_sgd_box(lua_State *L, int arg) { return luaL_checkudata(L, arg, LSAE_SGD); }

static sae_sgd *check_sgd(lua_State *L, int arg) {
  lsae_sgd *box = check_sgd_box(L, arg);
  if (!box->s) luaL_error(L, "optimiser used after it was closed");
  return box->s;
}

static int sgd_gc(lua_State *L) {
  lsae_sgd *box = check_sgd_box(L, 1);
  sae_sgd_free(box->s);
  box->s = NULL;
  return 0;
}

/* lr_scale = {["node.tensor"] = c, ...} at index t: each tensor's learning
 * rate multiplied by c (sae_sgd_scale).  A tied tensor is its owner's storage,
 * so naming either scales both.  [-0, +0, e] */
static void sgd_lr_scale(lua_State *L, sae_sgd *s, sae_model *m, int t, const char *fname) {
  if (!lua_istable(L, t))
    luaL_error(L, "%s: lr_scale must be a table {[\"node.tensor\"] = factor}", fname);
  gsl_vector *theta = sae_model_theta(m);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "%s: lr_scale: keys are \"node.tensor\" strings", fname);
    const char *key = lua_tostring(L, -2), *dot = strrchr(key, '.');
    if (!lua_isnumber(L, -1))
      luaL_error(L, "%s: lr_scale[\"%s\"] must be a number", fname, key);
    const double c = lua_tonumber(L, -1);
    char node[128];
    if (!dot || dot == key || dot[1] == '\0' || (size_t)(dot - key) >= sizeof node)
      luaL_error(L, "%s: lr_scale: key \"%s\" is not \"node.tensor\"", fname, key);
    memcpy(node, key, (size_t)(dot - key));
    node[dot - key] = '\0';
    const int i = sae_model_find(m, node);
    if (i < 0) luaL_error(L, "%s: lr_scale: no node named \"%s\"", fname, node);
    gsl_matrix *v;
    sae_error e = {0, ""};
    int rc = sae_model_tensor(m, (size_t)i, dot + 1, &v, &e);
    if (!rc)
      rc = sae_sgd_scale(s, (size_t)(v->data - theta->data), v->size1 * v->size2, c, &e);
    if (rc) {
      lua_pushfstring(L, "%s: lr_scale[\"%s\"]: %s", fname, key, e.msg);
      lua_error(L);
    }
    lua_pop(L, 1);
  }
}

/* precision = 32 or 64 (sae.sgd's option): the error for a model with a
 * node that has no float32 path lists the registered types that have one. */
static void sgd_precision(lua_State *L, sae_sgd *s, int idx) {
  int isint;
  const lua_Integer bits = lua_tointegerx(L, idx, &isint);
  if (!isint || (bits != 32 && bits != 64))
    luaL_error(L, "sae.sgd: precision must be 32 or 64 (got %s)", luaL_tolstring(L, idx, NULL));
  sae_error e = {0, ""};
  int rc = sae_sgd_precision(s, (int)bits, &e);
  if (rc == SAE_ETYPE) {
    const sae_registry *reg = lsae_registry(L);
    luaL_Buffer buf;
    luaL_buffinit(L, &buf);
    for (size_t i = 0, n = 0; i < sae_registry_count(reg); i++) {
      const sae_type *t = sae_registry_type(reg, i, NULL, NULL);
      if (!sae_type_has_f32(t)) continue;
      if (n++) luaL_addstring(&buf, ", ");
      luaL_addstring(&buf, t->name);
    }
    luaL_pushresult(&buf);
    luaL_error(L, "sae.sgd: precision = 32: %s (types with one: %s)", e.msg, lua_tostring(L, -1));
  }
  if (rc) luaL_error(L, "sae.sgd: %s", e.msg);
}

/* keys: the options fname knows (lr, momentum, lr_scale; sae.sgd's also precision). */
static void sgd_configure(lua_State *L, sae_sgd *s, sae_model *m, int opt, const char *fname,
                          const char *const *keys) {
  double eta = sae_sgd_eta(s), mu = sae_sgd_mu(s);
  if (!lua_isnoneornil(L, opt)) {
    luaL_checktype(L, opt, LUA_TTABLE);
    lsae_check_options(L, opt, fname, keys);
    lua_getfield(L, opt, "lr");
    if (!lua_isnil(L, -1)) eta = luaL_checknumber(L, -1);
    lua_getfield(L, opt, "momentum");
    if (!lua_isnil(L, -1)) mu = luaL_checknumber(L, -1);
    lua_getfield(L, opt, "lr_scale");
    if (!lua_isnil(L, -1)) sgd_lr_scale(L, s, m, lua_gettop(L), fname);
    lua_pop(L, 3);
  }
  sae_error e = {0, ""};
  int rc = sae_sgd_set(s, eta, mu, &e);
  if (rc) lsae_fail(L, rc, &e);
}

/* sae.sgd(net, {lr = 0.1, momentum = 0}): refuses a model with no loss node. */
static int l_sgd(lua_State *L) {
  sae_model *m = check_built(L, 1);
  lsae_check_has_cost(L, m);
  lua_settop(L, 2); /* the options (or nil) at 2: the userdata goes above them */
  lsae_sgd *box = lua_newuserdatauv(L, sizeof *box, 1);
  box->s = NULL;
  luaL_setmetatable(L, LSAE_SGD);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, 1); /* the model lives as long as its optimiser */
  if (!(box->s = sae_sgd_alloc(m))) /* the velocity and the per-parameter rate factors */
    return luaL_error(L, "sae.sgd: cannot allocate %zu bytes for the optimiser's state of %zu "
                      "parameters (out of memory)", 2 * sizeof(double) * sae_model_theta(m)->size,
                      sae_model_theta(m)->size);
  static const char *const keys[] = {"lr", "momentum", "lr_scale", "precision", NULL};
  sgd_configure(L, box->s, m, 2, "sae.sgd", keys);
  if (!lua_isnil(L, 2)) { /* precision is sae.sgd's alone: opt:set does not change it */
    lua_getfield(L, 2, "precision");
    if (!lua_isnil(L, -1)) sgd_precision(L, box->s, lua_gettop(L));
    lua_pop(L, 1);
  }
  return 1;
}

/* opt:set{lr=, momentum=} -> opt */
static int l_sgd_set(lua_State *L) {
  sae_sgd *s = check_sgd(L, 1);
  lua_getiuservalue(L, 1, 1); /* the model */
  sae_model *m = check_model(L, -1);
  lua_pop(L, 1);
  static const char *const keys[] = {"lr", "momentum", "lr_scale", NULL};
  sgd_configure(L, s, m, 2, "opt:set", keys);
  lua_settop(L, 1);
  return 1;
}

/* opt:sync(): precision 32, the float copy written back into the model's
 * theta and the velocity (a no-op at 64, or when no step ran since). */
static int l_sgd_sync(lua_State *L) {
  sae_sgd_sync(check_sgd(L, 1));
  lua_settop(L, 1);
  return 1;
}

/* opt:precision() -> 32 or 64 */
static int l_sgd_precision(lua_State *L) {
  lua_pushinteger(L, sae_sgd_get_precision(check_sgd(L, 1)));
  return 1;
}

static int l_sgd_lr(lua_State *L) {
  lua_pushnumber(L, sae_sgd_eta(check_sgd(L, 1)));
  return 1;
}

/* opt:velocity(): a live n x 1 view of the momentum velocity (theta's layout). */
static int l_sgd_velocity(lua_State *L) {
  gsl_vector *v = sae_sgd_velocity(check_sgd(L, 1));
  lsae_pushview(L, gsl_matrix_view_vector(v, v->size, 1).matrix, 1);
  return 1;
}

/* opt:step(X [, {target=, labels=, mode=}]) -> cost before the step */
static int l_sgd_step(lua_State *L) {
  sae_sgd *s = check_sgd(L, 1);
  lua_getiuservalue(L, 1, 1); /* the model (sae.sgd refused one with no cost already) */
  lsae_check_has_cost(L, check_model(L, -1));
  lua_pop(L, 1);
  sae_batch b;
  read_batch(L, 2, 3, "opt:step", &b);
  double cost;
  sae_error e = {0, ""};
  int rc = sae_sgd_step(s, &b, &cost, &e);
  lua_getiuservalue(L, 1, 1);
  model_grew(L, -1);
  lua_pop(L, 1);
  if (rc) return lsae_fail(L, rc, &e);
  lua_pushnumber(L, cost);
  return 1;
}

static const luaL_Reg model_methods[] = {
  {"add", l_add},           {"build", l_build},   {"nparams", l_nparams},
  {"theta", l_theta},       {"grad", l_grad},     {"param", l_param},
  {"forward", l_forward},   {"cost", l_cost},  {"eval", l_eval},     {"output", l_output},
  {"encode", l_encode},     {"decode", l_decode}, {"set", l_set},
  {"get", l_get},           {"nodes", l_nodes},   {"gradcheck", l_gradcheck},
  {"update", l_update},     {"project", l_project},
  {NULL, NULL}};

static const luaL_Reg sgd_methods[] = {
  {"step", l_sgd_step},         {"set", l_sgd_set}, {"lr", l_sgd_lr},
  {"velocity", l_sgd_velocity}, {"sync", l_sgd_sync}, {"precision", l_sgd_precision},
  {NULL, NULL}};

static void new_metatable(lua_State *L, const char *name, const luaL_Reg *methods,
                          lua_CFunction gc, lua_CFunction tostring) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, gc);
  lua_setfield(L, -2, "__close");
  if (tostring) {
    lua_pushcfunction(L, tostring);
    lua_setfield(L, -2, "__tostring");
  }
  lua_pop(L, 1);
}

void lsae_open_model(lua_State *L) {
  new_metatable(L, LSAE_MODEL, model_methods, model_gc, l_model_tostring);
  new_metatable(L, LSAE_SGD, sgd_methods, sgd_gc, NULL);
  lua_pushcfunction(L, l_model);
  lua_setfield(L, -2, "model");
  lua_pushcfunction(L, l_sgd);
  lua_setfield(L, -2, "sgd");
}
