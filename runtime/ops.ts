// The operational endpoints every process serves: liveness, readiness and Prometheus metrics.
import express, { type Router } from 'express';
import type { Registry } from 'prom-client';

export interface Readiness {
  /** Empty when ready; otherwise the reasons the process is not ready yet. */
  notReadyReasons(): string[];
}

export function opsRouter(registry: Registry, readiness: Readiness): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  router.get('/readyz', (_req, res) => {
    const reasons = readiness.notReadyReasons();
    if (reasons.length === 0) res.type('text/plain').send('ok');
    else
      res
        .status(503)
        .type('text/plain')
        .send(`not ready: ${reasons.join('; ')}`);
  });
  router.get('/metrics', (_req, res, next) => {
    registry
      .metrics()
      .then((text) => res.type(registry.contentType).send(text))
      .catch(next);
  });
  return router;
}
