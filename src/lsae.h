/* lsae.h -- shared pieces of the Lua bindings (the only files that include lua.h).
 *
 * Conventions (as lua.c and liolib.c do it):
 *  - one named metatable per object type; __gc and __close share one idempotent
 *    function; the userdata is created EMPTY before anything is allocated, so
 *    an error midway leaks nothing;
 *  - never luaL_error while holding memory no userdata owns;
 *  - C status codes become Lua errors in one place: lsae_fail();
 *  - indices are 1-based on the Lua side. */
#ifndef LSAE_H
#define LSAE_H

#include <lua.h>
#include <lauxlib.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include "error.h"
#include "registry.h"
#include "model.h"

#define LSAE_MATRIX "sae.matrix"
#define LSAE_MODEL "sae.model"
#define LSAE_SGD "sae.sgd"

/* Raise a Lua error from a C status: "what: e->msg" (or sae_strerror(code)).
 * Never returns. */
int lsae_fail(lua_State *L, int code, const sae_error *e);

/* Matrix userdata (lsae_matrix.c).  A matrix either owns its gsl_matrix or
 * is a view into another matrix or into a model's parameter block; a view
 * keeps its parent alive through its user value. */
typedef struct lsae_matrix {
  gsl_matrix *a;    /* what Lua sees; NULL once freed */
  gsl_matrix view;  /* storage for a view's header */
  int owner;        /* 1: a was allocated here and is freed by __gc */
} lsae_matrix;

/* Push a new owning rows x cols matrix (zeroed); returns it. */
gsl_matrix *lsae_newmatrix(lua_State *L, size_t rows, size_t cols);
/* Push a view of v, keeping the object at stack index parent alive.  The
 * parent is a userdata whose FIRST field is the pointer its __close frees and
 * sets to NULL (lsae_matrix.a, the model's sae_model *): a view of a closed
 * parent is refused instead of reading freed memory. */
gsl_matrix *lsae_pushview(lua_State *L, gsl_matrix v, int parent);
/* Check argument arg is a matrix (not freed). */
gsl_matrix *lsae_checkmatrix(lua_State *L, int arg);
gsl_matrix *lsae_testmatrix(lua_State *L, int arg); /* NULL if not a matrix */

/* Model userdata (lsae_model.c).  lsae_newmodel pushes an EMPTY model
 * (its __gc frees whatever is stored into the returned slot later), so a
 * model made in C is boxed before anything can raise.  [-0, +1, m] */
sae_model **lsae_newmodel(lua_State *L);
/* Check argument arg is a model that was not closed.  [-0, +0, v] */
sae_model *lsae_checkmodel(lua_State *L, int arg);

/* The runtime's registry and seeded generator, kept in the Lua registry by
 * lsae.c; the host (main.c, a test, or lsae_module.c's luaopen_sae_core in a
 * plain lua5.4) installs them with lsae_setup(). */
void lsae_setup(lua_State *L, sae_registry *reg, unsigned long seed);
sae_registry *lsae_registry(lua_State *L);
gsl_rng *lsae_rng(lua_State *L);

/* Hyper-parameters read from a Lua {name = number} table (booleans count as
 * 0/1); keys listed in skip (NULL-terminated) are left out.  Put the struct
 * in a userdata (lua_newuserdatauv) so an error cannot leak it; the names
 * point into the table, which must stay on the stack. */
#define LSAE_MAX_HP 64
typedef struct lsae_hp {
  size_t n;
  const char *name[LSAE_MAX_HP];
  double value[LSAE_MAX_HP];
} lsae_hp;
int lsae_read_hparams(lua_State *L, int idx, const char *const *skip, lsae_hp *hp);

/* Refuse an option table (at idx) with a key not in keys (NULL-terminated):
 * "fname: unknown option 'momentun' (known: a, b, ...)".  A misspelt option
 * would otherwise be ignored without a word.  [-0, +0, e] */
void lsae_check_options(lua_State *L, int idx, const char *fname, const char *const *keys);
/* bytes were just allocated outside Lua's heap for an object Lua owns (a
 * matrix's numbers, a model's buffers): step the collector as if Lua had
 * allocated them.  Anything the caller still needs must be on the stack. */
void lsae_gc_external(lua_State *L, size_t bytes);

/* The batch of a call f(X [, {target=, labels=, mode=}]) with X at xarg and
 * the options at optarg: target defaults to X (an autoencoder), labels are
 * 1-based class numbers copied into a userdata left on the stack (so keep
 * the stack until the batch is used), mode "train" (default) or "eval". */
void lsae_read_batch(lua_State *L, int xarg, int optarg, sae_batch *b);

/* Refuse to optimise a model that nothing adds cost to (no loss, penalty or
 * regularizer node): its cost is 0 whatever the parameters, so training
 * would "succeed" doing nothing.  (lsae_model.c) */
void lsae_check_has_cost(lua_State *L, const sae_model *m);

/* Set version, gsl, lua, cblas (the library serving cblas_dgemm), blas_core
 * and blas_threads in the table at the top of the stack (run records and
 * sae.versions()). */
void lsae_set_versions(lua_State *L);

/* Push a gradient check's result as {rel_error, max_abs_err, tol, n, worst
 * (1-based entry with the largest error), passed, cost_rel_error,
 * output_rel_error (nil without an output part), part ("cost" or "output"),
 * message (one line naming the worst entry), where = {node, tensor, row, col
 * (1-based), analytic, numeric, rel}}. */
struct sae_gradcheck_result;
void lsae_push_gradcheck(lua_State *L, const struct sae_gradcheck_result *r);

/* Each binding file adds its functions to the module table at the top of the stack. */
void lsae_open_matrix(lua_State *L);
void lsae_open_model(lua_State *L);
void lsae_open_plot(lua_State *L);
void lsae_open_util(lua_State *L);
/* funcs into core.internal (made if missing), with the core table on top:
 * what lua/sae/ wraps and scripts never call (sae does not copy it).
 * [-0, +0, m] */
void lsae_internal_funcs(lua_State *L, const luaL_Reg *funcs);
void lsae_open_data(lua_State *L);
void lsae_open_optim(lua_State *L);
void lsae_open_modelfile(lua_State *L); /* after lsae_open_model: adds net:save */
void lsae_open_sparse(lua_State *L);  /* sae.sparse_code, sae.ista_matrices */

/* The module table of "sae.core" (lua/sae/init.lua builds `sae` on it), for
 * a host that ran lsae_setup first: saelab's package.preload["sae.core"].  A
 * plain Lua interpreter loads sae/core.so instead, whose luaopen_sae_core
 * (lsae_module.c) sets the runtime up itself. */
int lsae_open_core(lua_State *L);

#endif
