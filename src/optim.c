/* optim.c -- minibatch SGD with momentum, one step at a time (see optim.h).
 *
 * Per step: one forward+backward (the model's cost and gradient), then for
 * every parameter i with direction d_i (+1 descend, -1 ascend, 0 skip):
 *     v_i <- mu v_i - eta d_i g_i ,   theta_i <- theta_i + v_i
 * (Rumelhart, Hinton & Williams, Nature 1986, eq. 9), then the nodes' own
 * non-gradient updates with the same eta, then their projections. */
#include <math.h>
#include <stdlib.h>
#include "optim.h"

struct sae_sgd {
  sae_model *m; /* not owned */
  gsl_vector *v;
  double eta, mu;
};

sae_sgd *sae_sgd_alloc(sae_model *m) {
  gsl_vector *theta = sae_model_theta(m);
  if (!theta) return NULL; /* not built */
  sae_sgd *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  if (!(s->v = gsl_vector_calloc(theta->size ? theta->size : 1))) {
    free(s);
    return NULL;
  }
  s->m = m;
  s->eta = 0.1;
  return s;
}

void sae_sgd_free(sae_sgd *s) {
  if (!s) return;
  gsl_vector_free(s->v);
  free(s);
}

int sae_sgd_set(sae_sgd *s, double eta, double mu, sae_error *e) {
  if (!(eta > 0) || !isfinite(eta))
    return sae_error_set(e, SAE_EHPARAM, "sgd: learning rate %g must be > 0", eta);
  if (!(mu >= 0 && mu < 1))
    return sae_error_set(e, SAE_EHPARAM, "sgd: momentum %g must be in [0, 1)", mu);
  s->eta = eta;
  s->mu = mu;
  return 0;
}

double sae_sgd_eta(const sae_sgd *s) { return s->eta; }
double sae_sgd_mu(const sae_sgd *s) { return s->mu; }

int sae_sgd_step(sae_sgd *s, const sae_batch *b, double *cost, sae_error *e) {
  int rc = sae_model_eval(s->m, b, cost, e);
  if (rc) return rc;
  if (!isfinite(*cost))
    return sae_error_set(e, SAE_ENUMERIC, "cost is %g: training diverged (lower the learning rate)",
                         *cost);
  gsl_vector *theta = sae_model_theta(s->m), *g = sae_model_grad(s->m);
  const signed char *dir = sae_model_direction(s->m);
  double *th = theta->data, *gr = g->data, *v = s->v->data;
  const double eta = s->eta, mu = s->mu;
  for (size_t i = 0; i < theta->size; i++) {
    if (!dir[i]) continue;
    v[i] = mu * v[i] - eta * dir[i] * gr[i];
    th[i] += v[i];
  }
  if ((rc = sae_model_update(s->m, b, eta, NULL, e))) return rc;
  return sae_model_project(s->m, e);
}
