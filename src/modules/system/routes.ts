import { Type } from '@fastify/type-provider-typebox';
import { sql } from 'kysely';
import type { AppContext } from '../../context.js';
import type { HttpApp } from '../../http.js';

const HealthReply = Type.Object({
  status: Type.Literal('ok'),
  database: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')]),
  demo: Type.Boolean(),
  time: Type.String({ description: 'Server time, ISO-8601 UTC' }),
});

export async function healthRoutes(app: HttpApp, ctx: AppContext): Promise<void> {
  app.get('/health', { schema: { tags: ['system'], response: { 200: HealthReply } } }, async () => {
    await sql`select 1`.execute(ctx.db);
    return { status: 'ok' as const, database: ctx.dialect, demo: ctx.config.demo, time: new Date(ctx.now()).toISOString() };
  });
}
