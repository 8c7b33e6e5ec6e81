/* lbfgs_loop.c -- liblbfgs 1.10's L-BFGS loop and More-Thuente line search,
 * with the loop's state in a caller-owned sae_lbfgs_state (lbfgs_loop.h).
 *
 * Copied from liblbfgs 1.10 (lib/lbfgs.c, lib/arithmetic_ansi.h; Debian's
 * liblbfgs0 1.10), which carries this notice:
 *
 * Copyright (c) 1990, Jorge Nocedal
 * Copyright (c) 2007-2010 Naoaki Okazaki
 * All rights reserved.
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy
 * of this software and associated documentation files (the "Software"), to deal
 * in the Software without restriction, including without limitation the rights
 * to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 * copies of the Software, and to permit persons to whom the Software is
 * furnished to do so, subject to the following conditions:
 *
 * The above copyright notice and this permission notice shall be included in
 * all copies or substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 * IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 * FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 * AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 * LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 * OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN
 * THE SOFTWARE.
 *
 * What changed: the loop's locals that outlive an iteration (x, g, d, fx,
 * step, k, end, the pairs s, y, ys and the past costs pf) are the state's;
 * a boundary callback sees them after every iteration; a state with k > 0
 * skips the start.  The OWL-QN branches, the backtracking searches, the SSE
 * kernels and the parameter checks saelab does itself (optim_lbfgs.c's
 * lb_check) are left out.  The line search and the update are as they were,
 * statement for statement.  Built with saelab's flags, not the library's
 * -O3 -ffast-math (liblbfgs's configure): every operation rounds as written,
 * so a saved and resumed run repeats the uninterrupted one bit for bit.  On
 * a 93-parameter autoencoder both give the same iterates for 62 iterations,
 * then differ in the last bits (fast-math's reassociation in the line
 * search); the iterations, statuses and tests are the same.
 *
 * L-BFGS: J. Nocedal, Updating Quasi-Newton Matrices with Limited Storage,
 * Math. Comp. 35 (1980) 773-782; D. C. Liu and J. Nocedal, Math. Prog. B 45
 * (1989) 503-528.  Line search: J. J. More and D. J. Thuente, Line search
 * algorithm with guaranteed sufficient decrease, ACM TOMS 20 (1994) 286-307. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "lbfgs_loop.h"

#define min2(a, b) ((a) <= (b) ? (a) : (b))
#define max2(a, b) ((a) >= (b) ? (a) : (b))
#define max3(a, b, c) max2(max2((a), (b)), (c));
#define fsigndiff(x, y) (*(x) * (*(y) / fabs(*(y))) < 0.)

typedef lbfgsfloatval_t lbf;

/* ---- arithmetic_ansi.h ---------------------------------------------------- */

static void veccpy(lbf *y, const lbf *x, const int n) {
  for (int i = 0; i < n; ++i) y[i] = x[i];
}
static void vecncpy(lbf *y, const lbf *x, const int n) {
  for (int i = 0; i < n; ++i) y[i] = -x[i];
}
static void vecadd(lbf *y, const lbf *x, const lbf c, const int n) {
  for (int i = 0; i < n; ++i) y[i] += c * x[i];
}
static void vecdiff(lbf *z, const lbf *x, const lbf *y, const int n) {
  for (int i = 0; i < n; ++i) z[i] = x[i] - y[i];
}
static void vecscale(lbf *y, const lbf c, const int n) {
  for (int i = 0; i < n; ++i) y[i] *= c;
}
static void vecdot(lbf *s, const lbf *x, const lbf *y, const int n) {
  *s = 0.;
  for (int i = 0; i < n; ++i) *s += x[i] * y[i];
}
static void vec2norm(lbf *s, const lbf *x, const int n) {
  vecdot(s, x, x, n);
  *s = (lbf)sqrt(*s);
}
static void vec2norminv(lbf *s, const lbf *x, const int n) {
  vec2norm(s, x, n);
  *s = (lbf)(1.0 / *s);
}

typedef struct callback_data_t {
  int n;
  void *instance;
  lbfgs_evaluate_t proc_evaluate;
  lbfgs_progress_t proc_progress;
} callback_data_t;

static int line_search_morethuente(int n, lbf *x, lbf *f, lbf *g, lbf *s, lbf *stp, const lbf *xp,
                                   const lbf *gp, lbf *wa, callback_data_t *cd,
                                   const lbfgs_parameter_t *param);
static int update_trial_interval(lbf *x, lbf *fx, lbf *dx, lbf *y, lbf *fy, lbf *dy, lbf *t,
                                 lbf *ft, lbf *dt, const lbf tmin, const lbf tmax, int *brackt);

/* ---- the state ------------------------------------------------------------- */

int sae_lbfgs_state_alloc(sae_lbfgs_state *st, int n, int m, int past) {
  memset(st, 0, sizeof *st);
  st->n = n, st->m = m, st->past = past;
  const size_t un = (size_t)n, um = (size_t)m;
  st->x = calloc(un, sizeof *st->x);
  st->g = calloc(un, sizeof *st->g);
  st->d = calloc(un, sizeof *st->d);
  st->s = calloc(um * un, sizeof *st->s);
  st->y = calloc(um * un, sizeof *st->y);
  st->ys = calloc(um, sizeof *st->ys);
  if (past > 0) st->pf = calloc((size_t)past, sizeof *st->pf);
  if (!st->x || !st->g || !st->d || !st->s || !st->y || !st->ys || (past > 0 && !st->pf)) {
    sae_lbfgs_state_free(st);
    return LBFGSERR_OUTOFMEMORY;
  }
  return 0;
}

void sae_lbfgs_state_free(sae_lbfgs_state *st) {
  if (!st) return;
  free(st->x);
  free(st->g);
  free(st->d);
  free(st->s);
  free(st->y);
  free(st->ys);
  free(st->pf);
  memset(st, 0, sizeof *st);
}

/* ---- lbfgs() ------------------------------------------------------------------ */

int sae_lbfgs_loop(sae_lbfgs_state *st, lbfgs_evaluate_t proc_evaluate,
                   lbfgs_progress_t proc_progress, sae_lbfgs_boundary_t boundary, void *instance,
                   const lbfgs_parameter_t *_param) {
  int ret;
  int i, j, ls, bound;
  const lbfgs_parameter_t param = *_param;
  const int n = st->n, m = st->m;
  if (n <= 0) return LBFGSERR_INVALID_N;
  if (param.m != m || param.past != st->past) return LBFGSERR_INVALIDPARAMETERS;
  lbf *x = st->x, *g = st->g, *d = st->d, *pf = st->past > 0 ? st->pf : NULL;
  lbf ys, yy;
  lbf xnorm, gnorm, beta;
  lbf rate = 0.;
  /* The pairs' alpha: scratch of one iteration's two-loop recursion. */
  lbf *alpha = malloc((size_t)m * sizeof *alpha);
  lbf *xp = malloc((size_t)n * sizeof *xp), *gp = malloc((size_t)n * sizeof *gp);
  lbf *w = malloc((size_t)n * sizeof *w);

  callback_data_t cd;
  cd.n = n;
  cd.instance = instance;
  cd.proc_evaluate = proc_evaluate;
  cd.proc_progress = proc_progress;

  if (!alpha || !xp || !gp || !w) {
    ret = LBFGSERR_OUTOFMEMORY;
    goto lbfgs_exit;
  }

  if (st->k == 0) {
    /* Evaluate the function value and its gradient. */
    st->fx = cd.proc_evaluate(cd.instance, x, g, cd.n, 0);
    /* Store the initial value of the objective function. */
    if (pf != NULL) pf[0] = st->fx;
    /* Compute the direction; we assume the initial hessian matrix H_0 as
     * the identity matrix. */
    vecncpy(d, g, n);
    /* Make sure that the initial variables are not a minimizer. */
    vec2norm(&xnorm, x, n);
    vec2norm(&gnorm, g, n);
    if (xnorm < 1.0) xnorm = 1.0;
    if (gnorm / xnorm <= param.epsilon) {
      ret = LBFGS_ALREADY_MINIMIZED;
      goto lbfgs_exit;
    }
    /* Compute the initial step: step = 1.0 / sqrt(vecdot(d, d, n)) */
    vec2norminv(&st->step, d, n);
    st->k = 1;
    st->end = 0;
  }

  for (;;) {
    const int k = st->k;
    /* Store the current position and gradient vectors. */
    veccpy(xp, x, n);
    veccpy(gp, g, n);

    /* Search for an optimal step. */
    ls = line_search_morethuente(n, x, &st->fx, g, d, &st->step, xp, gp, w, &cd, &param);
    if (ls < 0) {
      /* Revert to the previous point. */
      veccpy(x, xp, n);
      veccpy(g, gp, n);
      ret = ls;
      goto lbfgs_exit;
    }

    /* Compute x and g norms. */
    vec2norm(&xnorm, x, n);
    vec2norm(&gnorm, g, n);

    /* Report the progress. */
    if (cd.proc_progress) {
      if ((ret = cd.proc_progress(cd.instance, x, g, st->fx, xnorm, gnorm, st->step, cd.n, k, ls))) {
        goto lbfgs_exit;
      }
    }

    /* Convergence test: |g(x)| / \max(1, |x|) < \epsilon */
    if (xnorm < 1.0) xnorm = 1.0;
    if (gnorm / xnorm <= param.epsilon) {
      ret = LBFGS_SUCCESS;
      break;
    }

    /* Test for stopping criterion: (f(past_x) - f(x)) / f(x) < \delta */
    if (pf != NULL) {
      /* We don't test the stopping criterion while k < past. */
      if (param.past <= k) {
        /* Compute the relative improvement from the past. */
        rate = (pf[k % param.past] - st->fx) / st->fx;
        /* The stopping criterion. */
        if (rate < param.delta) {
          ret = LBFGS_STOP;
          break;
        }
      }
      /* Store the current value of the objective function. */
      pf[k % param.past] = st->fx;
    }

    if (param.max_iterations != 0 && param.max_iterations < k + 1) {
      /* Maximum number of iterations. */
      ret = LBFGSERR_MAXIMUMITERATION;
      break;
    }

    /* Update vectors s and y:
     *   s_{k+1} = x_{k+1} - x_{k} = \step * d_{k}.
     *   y_{k+1} = g_{k+1} - g_{k}. */
    lbf *s_end = st->s + (size_t)st->end * (size_t)n, *y_end = st->y + (size_t)st->end * (size_t)n;
    vecdiff(s_end, x, xp, n);
    vecdiff(y_end, g, gp, n);

    /* Compute scalars ys and yy: ys = y^t \cdot s = 1 / \rho, yy = y^t \cdot y.
     * yy is used for scaling the hessian matrix H_0 (Cholesky factor). */
    vecdot(&ys, y_end, s_end, n);
    vecdot(&yy, y_end, y_end, n);
    st->ys[st->end] = ys;

    /* Recursive formula to compute dir = -(H \cdot g) (Nocedal 1980, page 779). */
    bound = (m <= k) ? m : k;
    st->k = k + 1;
    st->end = (st->end + 1) % m;

    /* Compute the negative of gradients. */
    vecncpy(d, g, n);

    j = st->end;
    for (i = 0; i < bound; ++i) {
      j = (j + m - 1) % m; /* if (--j == -1) j = m-1; */
      const lbf *sj = st->s + (size_t)j * (size_t)n, *yj = st->y + (size_t)j * (size_t)n;
      /* \alpha_{j} = \rho_{j} s^{t}_{j} \cdot q_{k+1}. */
      vecdot(&alpha[j], sj, d, n);
      alpha[j] /= st->ys[j];
      /* q_{i} = q_{i+1} - \alpha_{i} y_{i}. */
      vecadd(d, yj, -alpha[j], n);
    }

    vecscale(d, ys / yy, n);

    for (i = 0; i < bound; ++i) {
      const lbf *sj = st->s + (size_t)j * (size_t)n, *yj = st->y + (size_t)j * (size_t)n;
      /* \beta_{j} = \rho_{j} y^t_{j} \cdot \gamma_{i}. */
      vecdot(&beta, yj, d, n);
      beta /= st->ys[j];
      /* \gamma_{i+1} = \gamma_{i} + (\alpha_{j} - \beta_{j}) s_{j}. */
      vecadd(d, sj, alpha[j] - beta, n);
      j = (j + 1) % m; /* if (++j == m) j = 0; */
    }

    /* Now the search direction d is ready. We try step = 1 first. */
    st->step = 1.0;

    /* saelab: the state is whole here; a copy continues the run. */
    if (boundary && (ret = boundary(instance, st))) goto lbfgs_exit;
  }

lbfgs_exit:
  free(w);
  free(gp);
  free(xp);
  free(alpha);
  return ret;
}

/* ---- liblbfgs 1.10's line_search_morethuente and update_trial_interval ------ */


static int line_search_morethuente(
    int n,
    lbf *x,
    lbf *f,
    lbf *g,
    lbf *s,
    lbf *stp,
    const lbf* xp,
    const lbf* gp,
    lbf *wa,
    callback_data_t *cd,
    const lbfgs_parameter_t *param
    )
{
    int count = 0;
    int brackt, stage1, uinfo = 0;
    (void)gp, (void)wa; /* as in liblbfgs: the signature its other searches share */
    lbf dg;
    lbf stx, fx, dgx;
    lbf sty, fy, dgy;
    lbf fxm, dgxm, fym, dgym, fm, dgm;
    lbf finit, ftest1, dginit, dgtest;
    lbf width, prev_width;
    lbf stmin, stmax;

    /* Check the input parameters for errors. */
    if (*stp <= 0.) {
        return LBFGSERR_INVALIDPARAMETERS;
    }

    /* Compute the initial gradient in the search direction. */
    vecdot(&dginit, g, s, n);

    /* Make sure that s points to a descent direction. */
    if (0 < dginit) {
        return LBFGSERR_INCREASEGRADIENT;
    }

    /* Initialize local variables. */
    brackt = 0;
    stage1 = 1;
    finit = *f;
    dgtest = param->ftol * dginit;
    width = param->max_step - param->min_step;
    prev_width = 2.0 * width;

    /*
        The variables stx, fx, dgx contain the values of the step,
        function, and directional derivative at the best step.
        The variables sty, fy, dgy contain the value of the step,
        function, and derivative at the other endpoint of
        the interval of uncertainty.
        The variables stp, f, dg contain the values of the step,
        function, and derivative at the current step.
    */
    stx = sty = 0.;
    fx = fy = finit;
    dgx = dgy = dginit;

    for (;;) {
        /*
            Set the minimum and maximum steps to correspond to the
            present interval of uncertainty.
         */
        if (brackt) {
            stmin = min2(stx, sty);
            stmax = max2(stx, sty);
        } else {
            stmin = stx;
            stmax = *stp + 4.0 * (*stp - stx);
        }

        /* Clip the step in the range of [stpmin, stpmax]. */
        if (*stp < param->min_step) *stp = param->min_step;
        if (param->max_step < *stp) *stp = param->max_step;

        /*
            If an unusual termination is to occur then let
            stp be the lowest point obtained so far.
         */
        if ((brackt && ((*stp <= stmin || stmax <= *stp) || param->max_linesearch <= count + 1 || uinfo != 0)) || (brackt && (stmax - stmin <= param->xtol * stmax))) {
            *stp = stx;
        }

        /*
            Compute the current value of x:
                x <- x + (*stp) * s.
         */
        veccpy(x, xp, n);
        vecadd(x, s, *stp, n);

        /* Evaluate the function and gradient values. */
        *f = cd->proc_evaluate(cd->instance, x, g, cd->n, *stp);
        vecdot(&dg, g, s, n);

        ftest1 = finit + *stp * dgtest;
        ++count;

        /* Test for errors and convergence. */
        if (brackt && ((*stp <= stmin || stmax <= *stp) || uinfo != 0)) {
            /* Rounding errors prevent further progress. */
            return LBFGSERR_ROUNDING_ERROR;
        }
        if (*stp == param->max_step && *f <= ftest1 && dg <= dgtest) {
            /* The step is the maximum value. */
            return LBFGSERR_MAXIMUMSTEP;
        }
        if (*stp == param->min_step && (ftest1 < *f || dgtest <= dg)) {
            /* The step is the minimum value. */
            return LBFGSERR_MINIMUMSTEP;
        }
        if (brackt && (stmax - stmin) <= param->xtol * stmax) {
            /* Relative width of the interval of uncertainty is at most xtol. */
            return LBFGSERR_WIDTHTOOSMALL;
        }
        if (param->max_linesearch <= count) {
            /* Maximum number of iteration. */
            return LBFGSERR_MAXIMUMLINESEARCH;
        }
        if (*f <= ftest1 && fabs(dg) <= param->gtol * (-dginit)) {
            /* The sufficient decrease condition and the directional derivative condition hold. */
            return count;
        }

        /*
            In the first stage we seek a step for which the modified
            function has a nonpositive value and nonnegative derivative.
         */
        if (stage1 && *f <= ftest1 && min2(param->ftol, param->gtol) * dginit <= dg) {
            stage1 = 0;
        }

        /*
            A modified function is used to predict the step only if
            we have not obtained a step for which the modified
            function has a nonpositive function value and nonnegative
            derivative, and if a lower function value has been
            obtained but the decrease is not sufficient.
         */
        if (stage1 && ftest1 < *f && *f <= fx) {
            /* Define the modified function and derivative values. */
            fm = *f - *stp * dgtest;
            fxm = fx - stx * dgtest;
            fym = fy - sty * dgtest;
            dgm = dg - dgtest;
            dgxm = dgx - dgtest;
            dgym = dgy - dgtest;

            /*
                Call update_trial_interval() to update the interval of
                uncertainty and to compute the new step.
             */
            uinfo = update_trial_interval(
                &stx, &fxm, &dgxm,
                &sty, &fym, &dgym,
                stp, &fm, &dgm,
                stmin, stmax, &brackt
                );

            /* Reset the function and gradient values for f. */
            fx = fxm + stx * dgtest;
            fy = fym + sty * dgtest;
            dgx = dgxm + dgtest;
            dgy = dgym + dgtest;
        } else {
            /*
                Call update_trial_interval() to update the interval of
                uncertainty and to compute the new step.
             */
            uinfo = update_trial_interval(
                &stx, &fx, &dgx,
                &sty, &fy, &dgy,
                stp, f, &dg,
                stmin, stmax, &brackt
                );
        }

        /*
            Force a sufficient decrease in the interval of uncertainty.
         */
        if (brackt) {
            if (0.66 * prev_width <= fabs(sty - stx)) {
                *stp = stx + 0.5 * (sty - stx);
            }
            prev_width = width;
            width = fabs(sty - stx);
        }
    }

    return LBFGSERR_LOGICERROR;
}



/**
 * Define the local variables for computing minimizers.
 */
#define USES_MINIMIZER \
    lbf a, d, gamma, theta, p, q, r, s;

/**
 * Find a minimizer of an interpolated cubic function.
 *  @param  cm      The minimizer of the interpolated cubic.
 *  @param  u       The value of one point, u.
 *  @param  fu      The value of f(u).
 *  @param  du      The value of f'(u).
 *  @param  v       The value of another point, v.
 *  @param  fv      The value of f(v).
 *  @param  du      The value of f'(v).
 */
#define CUBIC_MINIMIZER(cm, u, fu, du, v, fv, dv) \
    d = (v) - (u); \
    theta = ((fu) - (fv)) * 3 / d + (du) + (dv); \
    p = fabs(theta); \
    q = fabs(du); \
    r = fabs(dv); \
    s = max3(p, q, r); \
    /* gamma = s*sqrt((theta/s)**2 - (du/s) * (dv/s)) */ \
    a = theta / s; \
    gamma = s * sqrt(a * a - ((du) / s) * ((dv) / s)); \
    if ((v) < (u)) gamma = -gamma; \
    p = gamma - (du) + theta; \
    q = gamma - (du) + gamma + (dv); \
    r = p / q; \
    (cm) = (u) + r * d;

/**
 * Find a minimizer of an interpolated cubic function.
 *  @param  cm      The minimizer of the interpolated cubic.
 *  @param  u       The value of one point, u.
 *  @param  fu      The value of f(u).
 *  @param  du      The value of f'(u).
 *  @param  v       The value of another point, v.
 *  @param  fv      The value of f(v).
 *  @param  du      The value of f'(v).
 *  @param  xmin    The maximum value.
 *  @param  xmin    The minimum value.
 */
#define CUBIC_MINIMIZER2(cm, u, fu, du, v, fv, dv, xmin, xmax) \
    d = (v) - (u); \
    theta = ((fu) - (fv)) * 3 / d + (du) + (dv); \
    p = fabs(theta); \
    q = fabs(du); \
    r = fabs(dv); \
    s = max3(p, q, r); \
    /* gamma = s*sqrt((theta/s)**2 - (du/s) * (dv/s)) */ \
    a = theta / s; \
    gamma = s * sqrt(max2(0, a * a - ((du) / s) * ((dv) / s))); \
    if ((u) < (v)) gamma = -gamma; \
    p = gamma - (dv) + theta; \
    q = gamma - (dv) + gamma + (du); \
    r = p / q; \
    if (r < 0. && gamma != 0.) { \
        (cm) = (v) - r * d; \
    } else if (a < 0) { \
        (cm) = (xmax); \
    } else { \
        (cm) = (xmin); \
    }

/**
 * Find a minimizer of an interpolated quadratic function.
 *  @param  qm      The minimizer of the interpolated quadratic.
 *  @param  u       The value of one point, u.
 *  @param  fu      The value of f(u).
 *  @param  du      The value of f'(u).
 *  @param  v       The value of another point, v.
 *  @param  fv      The value of f(v).
 */
#define QUARD_MINIMIZER(qm, u, fu, du, v, fv) \
    a = (v) - (u); \
    (qm) = (u) + (du) / (((fu) - (fv)) / a + (du)) / 2 * a;

/**
 * Find a minimizer of an interpolated quadratic function.
 *  @param  qm      The minimizer of the interpolated quadratic.
 *  @param  u       The value of one point, u.
 *  @param  du      The value of f'(u).
 *  @param  v       The value of another point, v.
 *  @param  dv      The value of f'(v).
 */
#define QUARD_MINIMIZER2(qm, u, du, v, dv) \
    a = (u) - (v); \
    (qm) = (v) + (dv) / ((dv) - (du)) * a;

/**
 * Update a safeguarded trial value and interval for line search.
 *
 *  The parameter x represents the step with the least function value.
 *  The parameter t represents the current step. This function assumes
 *  that the derivative at the point of x in the direction of the step.
 *  If the bracket is set to true, the minimizer has been bracketed in
 *  an interval of uncertainty with endpoints between x and y.
 *
 *  @param  x       The pointer to the value of one endpoint.
 *  @param  fx      The pointer to the value of f(x).
 *  @param  dx      The pointer to the value of f'(x).
 *  @param  y       The pointer to the value of another endpoint.
 *  @param  fy      The pointer to the value of f(y).
 *  @param  dy      The pointer to the value of f'(y).
 *  @param  t       The pointer to the value of the trial value, t.
 *  @param  ft      The pointer to the value of f(t).
 *  @param  dt      The pointer to the value of f'(t).
 *  @param  tmin    The minimum value for the trial value, t.
 *  @param  tmax    The maximum value for the trial value, t.
 *  @param  brackt  The pointer to the predicate if the trial value is
 *                  bracketed.
 *  @retval int     Status value. Zero indicates a normal termination.
 *  
 *  @see
 *      Jorge J. More and David J. Thuente. Line search algorithm with
 *      guaranteed sufficient decrease. ACM Transactions on Mathematical
 *      Software (TOMS), Vol 20, No 3, pp. 286-307, 1994.
 */
static int update_trial_interval(
    lbf *x,
    lbf *fx,
    lbf *dx,
    lbf *y,
    lbf *fy,
    lbf *dy,
    lbf *t,
    lbf *ft,
    lbf *dt,
    const lbf tmin,
    const lbf tmax,
    int *brackt
    )
{
    int bound;
    int dsign = fsigndiff(dt, dx);
    lbf mc; /* minimizer of an interpolated cubic. */
    lbf mq; /* minimizer of an interpolated quadratic. */
    lbf newt;   /* new trial value. */
    USES_MINIMIZER;     /* for CUBIC_MINIMIZER and QUARD_MINIMIZER. */

    /* Check the input parameters for errors. */
    if (*brackt) {
        if (*t <= min2(*x, *y) || max2(*x, *y) <= *t) {
            /* The trival value t is out of the interval. */
            return LBFGSERR_OUTOFINTERVAL;
        }
        if (0. <= *dx * (*t - *x)) {
            /* The function must decrease from x. */
            return LBFGSERR_INCREASEGRADIENT;
        }
        if (tmax < tmin) {
            /* Incorrect tmin and tmax specified. */
            return LBFGSERR_INCORRECT_TMINMAX;
        }
    }

    /*
        Trial value selection.
     */
    if (*fx < *ft) {
        /*
            Case 1: a higher function value.
            The minimum is brackt. If the cubic minimizer is closer
            to x than the quadratic one, the cubic one is taken, else
            the average of the minimizers is taken.
         */
        *brackt = 1;
        bound = 1;
        CUBIC_MINIMIZER(mc, *x, *fx, *dx, *t, *ft, *dt);
        QUARD_MINIMIZER(mq, *x, *fx, *dx, *t, *ft);
        if (fabs(mc - *x) < fabs(mq - *x)) {
            newt = mc;
        } else {
            newt = mc + 0.5 * (mq - mc);
        }
    } else if (dsign) {
        /*
            Case 2: a lower function value and derivatives of
            opposite sign. The minimum is brackt. If the cubic
            minimizer is closer to x than the quadratic (secant) one,
            the cubic one is taken, else the quadratic one is taken.
         */
        *brackt = 1;
        bound = 0;
        CUBIC_MINIMIZER(mc, *x, *fx, *dx, *t, *ft, *dt);
        QUARD_MINIMIZER2(mq, *x, *dx, *t, *dt);
        if (fabs(mc - *t) > fabs(mq - *t)) {
            newt = mc;
        } else {
            newt = mq;
        }
    } else if (fabs(*dt) < fabs(*dx)) {
        /*
            Case 3: a lower function value, derivatives of the
            same sign, and the magnitude of the derivative decreases.
            The cubic minimizer is only used if the cubic tends to
            infinity in the direction of the minimizer or if the minimum
            of the cubic is beyond t. Otherwise the cubic minimizer is
            defined to be either tmin or tmax. The quadratic (secant)
            minimizer is also computed and if the minimum is brackt
            then the the minimizer closest to x is taken, else the one
            farthest away is taken.
         */
        bound = 1;
        CUBIC_MINIMIZER2(mc, *x, *fx, *dx, *t, *ft, *dt, tmin, tmax);
        QUARD_MINIMIZER2(mq, *x, *dx, *t, *dt);
        if (*brackt) {
            if (fabs(*t - mc) < fabs(*t - mq)) {
                newt = mc;
            } else {
                newt = mq;
            }
        } else {
            if (fabs(*t - mc) > fabs(*t - mq)) {
                newt = mc;
            } else {
                newt = mq;
            }
        }
    } else {
        /*
            Case 4: a lower function value, derivatives of the
            same sign, and the magnitude of the derivative does
            not decrease. If the minimum is not brackt, the step
            is either tmin or tmax, else the cubic minimizer is taken.
         */
        bound = 0;
        if (*brackt) {
            CUBIC_MINIMIZER(newt, *t, *ft, *dt, *y, *fy, *dy);
        } else if (*x < *t) {
            newt = tmax;
        } else {
            newt = tmin;
        }
    }

    /*
        Update the interval of uncertainty. This update does not
        depend on the new step or the case analysis above.

        - Case a: if f(x) < f(t),
            x <- x, y <- t.
        - Case b: if f(t) <= f(x) && f'(t)*f'(x) > 0,
            x <- t, y <- y.
        - Case c: if f(t) <= f(x) && f'(t)*f'(x) < 0, 
            x <- t, y <- x.
     */
    if (*fx < *ft) {
        /* Case a */
        *y = *t;
        *fy = *ft;
        *dy = *dt;
    } else {
        /* Case c */
        if (dsign) {
            *y = *x;
            *fy = *fx;
            *dy = *dx;
        }
        /* Cases b and c */
        *x = *t;
        *fx = *ft;
        *dx = *dt;
    }

    /* Clip the new trial value in [tmin, tmax]. */
    if (tmax < newt) newt = tmax;
    if (newt < tmin) newt = tmin;

    /*
        Redefine the new trial value if it is close to the upper bound
        of the interval.
     */
    if (*brackt && bound) {
        mq = *x + 0.66 * (*y - *x);
        if (*x < *y) {
            if (mq < newt) newt = mq;
        } else {
            if (newt < mq) newt = mq;
        }
    }

    /* Return the new trial value. */
    *t = newt;
    return 0;
}





