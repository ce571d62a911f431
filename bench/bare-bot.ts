// The reference for lugh's own speed: a bare grammY bot, long polling, that answers /help
// with the text lugh answers (given by the bench in BARE_HELP_TEXT, HTML). grammY only: no
// storage, no guards, no transformers. Compiled with tsc and run by bench/bot.ts with plain node
// (a bare bot as one is usually run; lugh runs bundled, as its image does).
import { Bot } from 'grammy';

const token = process.env.BARE_BOT_TOKEN;
const apiRoot = process.env.TELEGRAM_API_ROOT;
const text = process.env.BARE_HELP_TEXT;
if (!token || !apiRoot || !text)
  throw new Error('bare-bot needs BARE_BOT_TOKEN, TELEGRAM_API_ROOT and BARE_HELP_TEXT');

const bot = new Bot(token, { client: { apiRoot } });
bot.command('help', (ctx) => ctx.reply(text, { parse_mode: 'HTML' }));
process.once('SIGTERM', () => void bot.stop());
await bot.start({ allowed_updates: ['message', 'callback_query'] });
