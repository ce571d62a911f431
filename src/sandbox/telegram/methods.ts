// The Bot API methods the stand-in answers, one module per family under methods/.
import { botInfoMethods } from './methods/bot-info.js';
import { callbackMethods } from './methods/callbacks.js';
import type { MethodHandler } from './methods/context.js';
import { editMethods } from './methods/edit.js';
import { sendMethods } from './methods/send.js';
import { updateMethods } from './methods/updates.js';

export { callbackQueryLifetimeMs } from './methods/callbacks.js';
export { DescribedResult, type MethodContext, type MethodHandler } from './methods/context.js';

const handlers: Record<string, MethodHandler> = {
  ...botInfoMethods,
  ...updateMethods,
  ...sendMethods,
  ...editMethods,
  ...callbackMethods,
};

/** Bot API methods by lower-cased name: the real server matches names case-insensitively. */
export const methods: ReadonlyMap<string, MethodHandler> = new Map(
  Object.entries(handlers).map(([name, handler]) => [name.toLowerCase(), handler]),
);
