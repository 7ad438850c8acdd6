/** How much of the account's limits and money sessions use (`ctx.usage`). */
import { z } from 'zod';
import type { ExtensionUsage } from 'claude-ext/extension';
import { route, visibleUser, type Route } from './api.ts';

export function usageRoutes(usage: ExtensionUsage): Route[] {
  return [
    route({
      method: 'GET', url: '/api/usage', tag: 'usage',
      summary: "The account's usage reading (auth mode, 5-hour and 7-day utilisation in percent with their resets), costs per UTC day and user, and each session's cost today and in total: the caller's (every user's for the admin)",
      query: z.object({
        days: z.coerce.number().int().min(1).max(366).default(7).describe('Days of costs, counting back from today (UTC)'),
        fresh: z.enum(['true', 'false']).default('false').describe('true: take a new reading instead of the cached one'),
      }),
      handler: async ({ principal, query }) => {
        const user = visibleUser(principal);
        return {
          body: {
            usage: await usage.current(query.fresh === 'true' ? 0 : undefined),
            costs: usage.costs({ ...(user !== undefined ? { user } : {}), days: query.days }),
            sessions: usage.sessionCosts(user),
          },
        };
      },
    }),
  ];
}
