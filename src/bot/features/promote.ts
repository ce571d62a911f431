import { createHash } from 'node:crypto';
import { type Conversation, createConversation } from '@grammyjs/conversations';
import { Composer, type Context } from 'grammy';
import type { DecisionOutcome, Requester } from '../../promotion/notices.js';
import {
  BUTTON_PREFIX,
  type PromotionService,
  UPDATE_BUTTON_PREFIX,
} from '../../promotion/promotion-service.js';
import type { BotContext, Feature } from '../context.js';
import { anonymousAdvice, anonymousSender, requireAdmin } from '../guards/is-admin.js';
import {
  MERGE_STARTED_ANSWER,
  renderCancel,
  renderDecisionAnswer,
  renderRefusal,
} from '../promotion/answer-text.js';

const CONVERSATION_ID = 'promote';
/** A promotion button's callback data: Yes/No, or update develop from main. */
const PROMOTION_BUTTON = new RegExp(`^(${BUTTON_PREFIX}|${UPDATE_BUTTON_PREFIX})`);

function requesterOf(
  from: { id: number; username?: string; first_name: string },
  admins: ReadonlySet<number>,
): Requester {
  return {
    id: from.id,
    name: from.username ? `@${from.username}` : from.first_name,
    isAdmin: admins.has(from.id),
  };
}

/**
 * Decides a Yes/No press. A refusal or a decline is quick and answered by the caller with
 * its outcome. An approval is answered “Merging…” the moment the merge starts, and the
 * handler returns then: the merge, the release and the handoff take longer than Telegram
 * takes an answer (~10–15 s) and must not hold up the updates after this one. The
 * promotion goes on by itself (its stop waits for it) and tells its outcome in the prompt
 * message; `decision` is then absent.
 */
async function decideAnsweringAtOnce(
  service: PromotionService,
  buttonId: string,
  actor: Requester,
  ctx: BotContext,
): Promise<{ decision?: DecisionOutcome; answered: boolean }> {
  let markAnswered!: () => void;
  const answered = new Promise<'answered'>((resolve) => {
    markAnswered = () => resolve('answered');
  });
  const work = service.decide(buttonId, actor, async () => {
    try {
      await ctx.answerCallbackQuery({ text: MERGE_STARTED_ANSWER });
    } finally {
      markAnswered();
    }
  });
  const first = await Promise.race([work, answered]);
  if (first !== 'answered') return { decision: first, answered: false };
  work.catch((error: unknown) =>
    ctx.deps.logger.error({ err: error }, 'the approved promotion failed after its press was answered'),
  );
  return { answered: true };
}

/**
 * /promote as a conversation persisted in Redis: it asks once (the request is an
 * external, recorded side effect) and then waits for this promotion's decision or
 * /cancel, surviving restarts. CI is followed outside it, by the promotion service:
 * webhooks and polls are not Telegram updates a conversation could wait for. Updates
 * it does not want pass on to the rest of the bot.
 */
function promoteConversation(service: PromotionService, admins: ReadonlySet<number>, maxWaitMs: number) {
  return async (conversation: Conversation<BotContext, Context>, ctx: Context) => {
    const from = ctx.from;
    const chat = ctx.chat;
    if (!from || !chat) return;
    const requester = requesterOf(from, admins);
    const outcome = await conversation.external(() => service.request(requester, chat.id, chat.type));
    if (outcome.kind === 'refused') {
      await ctx.reply(renderRefusal(outcome.refusal), { link_preview_options: { is_disabled: true } });
      return;
    }
    for (;;) {
      const next = await conversation.waitUntil(
        (c) => PROMOTION_BUTTON.test(c.callbackQuery?.data ?? '') || c.hasCommand('cancel'),
        { next: true, maxMilliseconds: maxWaitMs },
      );
      const anonymous = anonymousSender(next);
      if (anonymous) {
        await next.reply(`⛔ /cancel cannot be run anonymously: ${anonymousAdvice(anonymous)}`);
        continue;
      }
      const actor = requesterOf(next.from!, admins);
      if (next.callbackQuery) {
        const data = next.callbackQuery.data!.replace(PROMOTION_BUTTON, '');
        // The press is answered from outside the conversation (no Bot API call may run
        // inside `external`) as soon as the merge starts; the replay remembers it was.
        const { decision } = await conversation.external((outside) =>
          decideAnsweringAtOnce(service, data, actor, outside),
        );
        // Approved: the merge goes on without the conversation. A new prompt (develop
        // moved, the merge failed) works through the handlers below, as /cancel does.
        if (!decision) return;
        await next.answerCallbackQuery({
          text: renderDecisionAnswer(decision.answer),
          show_alert: decision.alert,
        });
        if (decision.final) return;
      } else {
        const cancelled = await conversation.external(() => service.cancel(actor));
        await next.reply(renderCancel(cancelled));
        if (actor.isAdmin && cancelled.kind !== 'too late') return;
      }
    }
  };
}

/**
 * The storage version of the conversation: a hash of its code, so a deploy that changes
 * the code drops replays recorded by the old one (their buttons still work through the
 * handlers below, which need no conversation).
 */
export const PROMOTE_CONVERSATION_VERSION = createHash('sha256')
  .update(promoteConversation.toString())
  .digest('hex')
  .slice(0, 12);

/** /promote and /cancel, plus the promotion's buttons when no conversation is waiting for them. */
export function createPromoteFeature(
  service: PromotionService | undefined,
  admins: ReadonlySet<number>,
  maxWaitMs: number,
): Feature {
  const composer = new Composer<BotContext>();
  if (!service) {
    composer.command(['promote', 'cancel'], requireAdmin('/promote'), async (ctx) => {
      await ctx.reply('Promotions run on the staging bot: send /promote there. Nothing was changed.');
    });
  } else {
    composer.use(
      createConversation(promoteConversation(service, admins, maxWaitMs), { id: CONVERSATION_ID }),
    );
    composer.command('promote', requireAdmin('/promote'), async (ctx) => {
      // A conversation left over from an ended promotion would swallow this one; the
      // database, not the conversation, knows what is in flight.
      await ctx.conversation.exit(CONVERSATION_ID);
      await ctx.conversation.enter(CONVERSATION_ID);
    });
    composer.command('cancel', requireAdmin('/cancel'), async (ctx) => {
      await ctx.reply(renderCancel(await service.cancel(requesterOf(ctx.from!, admins))));
    });
    composer.callbackQuery(PROMOTION_BUTTON, async (ctx) => {
      const { decision } = await decideAnsweringAtOnce(
        service,
        ctx.callbackQuery.data.replace(PROMOTION_BUTTON, ''),
        requesterOf(ctx.from, admins),
        ctx,
      );
      if (!decision) return;
      await ctx.answerCallbackQuery({
        text: renderDecisionAnswer(decision.answer),
        show_alert: decision.alert,
      });
    });
  }
  return {
    commands: [
      {
        command: 'promote',
        description: 'Promote develop to main and deploy production',
        access: 'admin',
        only: 'staging',
      },
      {
        command: 'cancel',
        description: 'Cancel the promotion in flight (before the merge)',
        access: 'admin',
        only: 'staging',
      },
    ],
    composer,
  };
}
