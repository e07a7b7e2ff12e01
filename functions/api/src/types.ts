import type { Config, Db, Principal, ServiceBinding, TickerNamespace, Wake } from '@agent-messaging/core';
import type { OpenAPIHono } from '@hono/zod-openapi';

export interface Bindings {
  /** The worker's static assets (functions/api/assets): in the cloud the platform's binding. */
  ASSETS?: { fetch(request: Request): Promise<Response> };
  DISPATCHER?: ServiceBinding;
  Dispatcher?: ServiceBinding;
  SweepTicker?: TickerNamespace;
  Ticker?: TickerNamespace;
  [variable: string]: unknown;
}

export interface Variables {
  config: Config;
  db: Db;
  principal: Principal;
  /** Keeps work running after the response (`waitUntil`); the request's database stays open for it. */
  background: (work: Promise<unknown>) => void;
  /** Tells the sweeper's ticker about a deadline this request left, after the response. */
  wake: Wake;
}

export interface AppEnv {
  Bindings: Bindings;
  Variables: Variables;
}

export type App = OpenAPIHono<AppEnv>;
