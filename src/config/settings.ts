import * as z from 'zod';
import { coreSettings } from './core.js';
import { deploySettings } from './deploy.js';
import { metricsSettings } from './metrics.js';
import { notifySettings } from './notify.js';
import { previewSettings } from './previews.js';
import { promoteSettings } from './promote.js';
import { refreshSettings } from './refresh.js';
import { type Setting, settingsOf } from './setting.js';

/**
 * Every setting, nested as the typed configuration is. Adding a setting is one row in its
 * section; the schema, the type, `lugh config`, the secrets and the README follow.
 */
export const SETTINGS = {
  ...coreSettings,
  ...promoteSettings,
  ...deploySettings,
  ...notifySettings,
  ...previewSettings,
  ...refreshSettings,
  ...metricsSettings,
};

/** Every setting in declaration order, which is the order `lugh config` prints and problems are listed in. */
export const SETTING_LIST: readonly Setting[] = settingsOf(SETTINGS);

/** The whole environment's schema: each variable checked by its own row. */
export const envSchema = z.object(Object.fromEntries(SETTING_LIST.map((s) => [s.variable, s.schema])));
