import { existsSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type AgentHandlerOptions, AgentMessaging, createAgentHandler } from '@agent-messaging/sdk';
import { createAdaptorServer } from '@hono/node-server';

/** Where an example talks to: `npm start`'s API by default. */
export interface Target {
  baseUrl: string;
  adminToken: string;
}

/** API_URL and ADMIN_TOKEN from the environment, else what `npm start` printed and saved. */
export function localTarget(): Target {
  const secretsFile = fileURLToPath(new URL('../.data/local-secrets.json', import.meta.url));
  const saved = existsSync(secretsFile) ? JSON.parse(readFileSync(secretsFile, 'utf8')) : {};
  const adminToken = process.env.ADMIN_TOKEN ?? saved.ADMIN_TOKEN;
  if (!adminToken) throw new Error('Run `npm start` first (or set API_URL and ADMIN_TOKEN).');
  return { baseUrl: process.env.API_URL ?? 'http://127.0.0.1:8787', adminToken };
}

export interface ExampleAgent {
  id: string;
  client: AgentMessaging;
}

/**
 * A fresh organization for one run of an example, and a way to add agents to it. An agent given
 * handlers gets an endpoint: a local HTTP server running the SDK's createAgentHandler, as an
 * agent's own function would.
 */
export async function workspace(target: Target, name: string) {
  const admin = new AgentMessaging({ baseUrl: target.baseUrl, token: target.adminToken });
  const { apiKey } = await admin.organizations.create({ name });
  const org = new AgentMessaging({ baseUrl: target.baseUrl, token: apiKey });
  const servers: { close: () => void }[] = [];

  async function agent(
    agentName: string,
    handlers?: (self: ExampleAgent) => Omit<AgentHandlerOptions, 'signingSecret'>,
  ): Promise<ExampleAgent> {
    const created = await org.agents.create({ name: agentName });
    const self = {
      id: created.agent.id,
      client: new AgentMessaging({ baseUrl: target.baseUrl, token: created.token }),
    };
    if (handlers) {
      const server = createAdaptorServer({
        fetch: createAgentHandler({ signingSecret: created.signingSecret, ...handlers(self) }),
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      const { port } = server.address() as AddressInfo;
      await org.agents.update(self.id, { endpointUrl: `http://127.0.0.1:${port}/agent` });
    }
    return self;
  }

  return {
    org,
    agent,
    close: () => {
      for (const server of servers) server.close();
    },
  };
}

/** Runs `example` against `npm start` when the file is executed directly, and prints its result. */
export function runIfMain(moduleUrl: string, example: (target: Target) => Promise<unknown>) {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  example(localTarget()).then(
    (result) => {
      console.log(JSON.stringify(result, null, 2));
      process.exit(0);
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
