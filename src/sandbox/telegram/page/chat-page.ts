import { createHash } from 'node:crypto';
import { chatPageScript } from './chat-page-script.js';
import { chatPageStyle } from './chat-page-style.js';
import type { PageUser } from './page-users.js';

export interface ChatPageHtml {
  body: string;
  scriptHash: string;
  styleHash: string;
}

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** JSON that cannot end the <script> element it sits in. */
const inertJson = (value: unknown): string =>
  JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');

/** The chat page: a Telegram-like client for the stand-in's bots, as one HTML document. */
export function renderChatPage(users: readonly PageUser[]): ChatPageHtml {
  const body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="color-scheme" content="light dark">
<title>Telegram sandbox · lugh</title>
<link rel="icon" href="data:,">
<style>${chatPageStyle}</style>
</head>
<body>
<div class="app">
  <header class="topbar">
    <div class="avatar" id="avatar" aria-hidden="true">?</div>
    <div class="titles">
      <h1 id="chat-title">Telegram sandbox</h1>
      <p id="chat-status" data-testid="chat-status" aria-live="polite">bot</p>
    </div>
    <div class="user-switch" id="user-switch" role="group" aria-label="Write as" data-testid="user-switch"></div>
  </header>
  <nav class="bot-switch" id="bot-switch" aria-label="Bots" data-testid="bot-switch"></nav>
  <main class="chat" id="messages" aria-label="Messages" aria-live="polite"></main>
  <div class="bottom">
    <div class="commands" id="commands" aria-label="Bot commands" hidden></div>
    <form class="composer" id="composer-form" autocomplete="off">
      <label for="composer" class="visually-hidden">Message</label>
      <input id="composer" data-testid="composer" type="text" placeholder="Message" enterkeyhint="send" maxlength="4096">
      <button class="send" type="submit" aria-label="Send" data-testid="send">
        <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" d="M3.4 20.4 21 12 3.4 3.6 3.4 10.1 15.5 12 3.4 13.9z"/></svg>
      </button>
    </form>
  </div>
</div>
<div class="toast" id="toast" role="status" aria-live="polite" data-testid="toast" hidden></div>
<div class="alert-backdrop" id="alert" hidden>
  <div class="alert" role="alertdialog" aria-modal="true" aria-labelledby="alert-text">
    <p id="alert-text" data-testid="alert"></p>
    <button type="button" id="alert-ok">OK</button>
  </div>
</div>
<script type="application/json" id="page-users">${inertJson(users)}</script>
<script>${chatPageScript}</script>
</body>
</html>
`;
  return { body, scriptHash: sha256(chatPageScript), styleHash: sha256(chatPageStyle) };
}

/** Only the page's own script and style run: a stray bit of bot text could never execute. */
export function chatPageHeaders(html: ChatPageHtml): Record<string, string> {
  const policy = [
    "default-src 'none'",
    `script-src ${html.scriptHash}`,
    `style-src ${html.styleHash}`,
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': policy,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
}
