/** The page's CSS: a Telegram-like chat, phone first, with a bot sidebar on wide screens. */
export const chatPageStyle = `
:root {
  --bg: #c9d9b4; --bg2: #8fb587; --head: #ffffff; --ink: #000000; --muted: #707579;
  --accent: #3390ec; --in: #ffffff; --out: #e3fee0; --out-meta: #4fae4e; --kb: rgba(32, 62, 32, .26);
  --line: #dadce0; --field: #ffffff; --code: rgba(0, 0, 0, .06); --shadow: 0 1px 2px rgba(16, 35, 47, .15);
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1b24; --bg2: #1a2c3a; --head: #212121; --ink: #ffffff; --muted: #aaaaaa;
    --accent: #8774e1; --in: #212121; --out: #766ac8; --out-meta: #e0dcff; --kb: rgba(255, 255, 255, .12);
    --line: #303030; --field: #212121; --code: rgba(255, 255, 255, .08);
  }
}
* { box-sizing: border-box; }
html, body { height: 100%; margin: 0; }
body {
  font: 15px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif,
    "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji";
  color: var(--ink); background: var(--head);
}
button { font: inherit; color: inherit; }
.visually-hidden {
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap;
}
.app {
  height: 100vh; height: 100dvh; display: grid;
  grid-template: "head" auto "bots" auto "chat" 1fr "composer" auto / 1fr;
}
.topbar {
  grid-area: head; display: flex; align-items: center; gap: 10px; padding: 8px 12px;
  background: var(--head); border-bottom: 1px solid var(--line); min-width: 0;
}
.avatar {
  flex: none; width: 40px; height: 40px; border-radius: 50%; display: grid; place-items: center;
  color: #fff; font-weight: 600; background: linear-gradient(#72d5fd, #2a9ef1);
}
.avatar.small { width: 32px; height: 32px; font-size: 14px; }
.titles { flex: 1; min-width: 0; }
.titles h1 { margin: 0; font-size: 16px; font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.titles p { margin: 0; font-size: 13px; color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.titles p.active { color: var(--accent); }
.user-switch { display: flex; flex: none; border: 1px solid var(--accent); border-radius: 16px; overflow: hidden; }
.user-switch button {
  border: 0; background: transparent; color: var(--accent); padding: 5px 10px; font-size: 13px; cursor: pointer;
}
.user-switch button[aria-pressed="true"] { background: var(--accent); color: #fff; }
.bot-switch {
  grid-area: bots; display: flex; gap: 6px; padding: 6px 10px; overflow-x: auto;
  background: var(--head); border-bottom: 1px solid var(--line);
}
.bot-switch button {
  display: flex; align-items: center; gap: 8px; flex: none; border: 0; border-radius: 18px; padding: 4px 12px 4px 4px;
  background: var(--code); cursor: pointer; text-align: left;
}
.bot-switch button[aria-pressed="true"] { background: var(--accent); color: #fff; }
.bot-switch .name { display: block; font-weight: 600; font-size: 14px; }
.bot-switch .handle { display: block; font-size: 12px; opacity: .75; }
.bot-switch .empty { color: var(--muted); padding: 6px; font-size: 14px; }
.chat {
  grid-area: chat; overflow-y: auto; overscroll-behavior: contain; padding: 8px 8px 12px;
  display: flex; flex-direction: column; gap: 4px;
  background: linear-gradient(160deg, var(--bg), var(--bg2));
}
.chat::before { content: ""; margin-top: auto; }
.empty-chat {
  margin: auto; max-width: 280px; text-align: center; padding: 16px; border-radius: 16px;
  background: rgba(0, 0, 0, .22); color: #fff;
}
.empty-chat p { margin: 4px 0 12px; }
.start {
  border: 0; border-radius: 10px; padding: 10px 28px; background: var(--accent); color: #fff;
  font-weight: 600; letter-spacing: .04em; cursor: pointer;
}
.row { display: flex; flex-direction: column; align-items: flex-start; }
.row.out { align-items: flex-end; }
.msg { max-width: min(85%, 520px); display: flex; flex-direction: column; gap: 2px; }
.bubble {
  position: relative; padding: 6px 10px 7px; border-radius: 14px 14px 14px 4px; background: var(--in);
  box-shadow: var(--shadow); overflow-wrap: anywhere;
}
.out .bubble { background: var(--out); border-radius: 14px 14px 4px 14px; }
.text { white-space: pre-wrap; }
.text code { font: 13px/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--code); padding: 0 3px; border-radius: 4px; }
.text pre { margin: 4px 0; padding: 6px 8px; background: var(--code); border-radius: 6px; overflow-x: auto; white-space: pre; }
.text pre code { background: none; padding: 0; }
.text blockquote { margin: 2px 0; padding: 2px 8px; border-left: 3px solid var(--accent); background: var(--code); border-radius: 4px; }
.text a { color: var(--accent); }
.text .spoiler { background: var(--muted); color: transparent; border-radius: 4px; cursor: pointer; }
.text .spoiler.revealed { background: var(--code); color: inherit; }
.text .command { border: 0; padding: 0; background: none; color: var(--accent); cursor: pointer; }
.meta {
  float: right; margin: 6px 0 -4px 10px; font-size: 12px; color: var(--muted); white-space: nowrap; user-select: none;
}
.out .meta { color: var(--out-meta); }
.meta .edited { font-style: italic; margin-right: 4px; }
.photo { display: block; max-width: 100%; height: auto; border-radius: 8px; margin: 2px 0 4px; }
.doc { display: flex; align-items: center; gap: 10px; color: inherit; text-decoration: none; padding: 2px 0 4px; }
.doc .icon {
  width: 42px; height: 42px; border-radius: 50%; background: var(--accent); color: #fff;
  display: grid; place-items: center; flex: none;
}
.doc .file { font-weight: 600; overflow-wrap: anywhere; }
.doc .size { font-size: 13px; color: var(--muted); }
.keyboard { display: flex; flex-direction: column; gap: 3px; }
.kb-row { display: flex; gap: 3px; }
.kb-btn {
  flex: 1 1 0; min-width: 0; min-height: 38px; border: 0; border-radius: 8px; padding: 6px 8px; cursor: pointer;
  background: var(--kb); color: #fff; font-weight: 500; backdrop-filter: blur(6px);
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
}
.kb-btn:hover { filter: brightness(1.1); }
.kb-btn.pending { opacity: .6; cursor: progress; }
.kb-btn .link { font-size: 11px; margin-left: 4px; }
.bottom { grid-area: composer; position: relative; }
.commands {
  position: absolute; left: 0; right: 0; bottom: 100%; max-height: 40vh; overflow-y: auto; z-index: 2;
  background: var(--field); border-top: 1px solid var(--line); box-shadow: 0 -2px 6px rgba(0, 0, 0, .08);
}
.commands button {
  display: flex; gap: 10px; width: 100%; border: 0; background: none; padding: 8px 14px; text-align: left; cursor: pointer;
}
.commands button:hover, .commands button:focus { background: var(--code); }
.commands .cmd { font-weight: 600; }
.commands .desc { color: var(--muted); }
.composer {
  display: flex; gap: 8px; align-items: center; padding: 8px 10px;
  padding-bottom: max(8px, env(safe-area-inset-bottom)); background: var(--head); border-top: 1px solid var(--line);
}
.composer input {
  flex: 1; min-width: 0; border: 0; border-radius: 20px; padding: 10px 14px; font: inherit; font-size: 16px;
  background: var(--code); color: var(--ink);
}
.composer input:focus { outline: 2px solid var(--accent); }
.send {
  flex: none; width: 42px; height: 42px; border: 0; border-radius: 50%; background: var(--accent); color: #fff;
  display: grid; place-items: center; cursor: pointer;
}
.send:disabled { opacity: .5; }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.toast {
  position: fixed; left: 50%; top: 110px; transform: translateX(-50%); max-width: min(90vw, 420px);
  padding: 10px 16px; border-radius: 10px; background: rgba(0, 0, 0, .78); color: #fff; z-index: 10;
  box-shadow: 0 4px 16px rgba(0, 0, 0, .25);
}
.alert-backdrop { position: fixed; inset: 0; display: grid; place-items: center; background: rgba(0, 0, 0, .4); z-index: 20; }
.alert {
  width: min(86vw, 360px); padding: 18px 20px 10px; border-radius: 12px; background: var(--head);
  box-shadow: 0 8px 32px rgba(0, 0, 0, .3);
}
.alert p { margin: 0 0 12px; white-space: pre-wrap; }
.alert button {
  display: block; margin-left: auto; border: 0; background: none; color: var(--accent); font-weight: 600;
  padding: 8px 12px; cursor: pointer; text-transform: uppercase;
}
[hidden] { display: none !important; }
@media (min-width: 900px) {
  .app { grid-template: "bots head" auto "bots chat" 1fr "bots composer" auto / 300px 1fr; }
  .bot-switch { flex-direction: column; overflow: auto; border-bottom: 0; border-right: 1px solid var(--line); padding: 10px; }
  .bot-switch button { border-radius: 10px; padding: 8px; }
  .avatar.small { width: 44px; height: 44px; font-size: 17px; }
  .chat { padding: 12px max(16px, calc((100% - 760px) / 2)); }
}
`;
