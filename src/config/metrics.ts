import * as z from 'zod';
import { optional, redacted } from './schemas.js';
import { setting } from './setting.js';

const whole = (value: string) => [value];

/** Prometheus' scrape of GET /metrics. */
export const metricsSettings = {
  metrics: {
    token: setting({
      variable: 'METRICS_TOKEN',
      schema: optional(
        z
          .string()
          .regex(/^[A-Za-z0-9._~+/=-]{16,256}$/, 'must be 16–256 characters of A–Z, a–z, 0–9 and ._~+/=-'),
      ),
      secret: whole,
      describe: redacted,
      description:
        'when set, `GET /metrics` answers only `Authorization: Bearer <token>` (set it when the HTTP port is reachable beyond the host, see Metrics); unset: open to whoever reaches the port',
    }),
  },
};
