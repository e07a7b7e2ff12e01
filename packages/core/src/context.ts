import type { Principal } from './auth';
import type { Db } from './db';
import type { Config } from './env';

/** What every domain operation gets: the request's database, the settings and who is calling. */
export interface Ctx {
  db: Db;
  config: Config;
  principal: Principal;
}
