import { type AgentMessaging, ForbiddenError, type Whoami } from '@agent-messaging/sdk';
import type { Command } from 'commander';
import { clientFor, loadCredentials, writeConfig } from '../config';
import { colors, emit, line } from '../output';

type Identity = Whoami | { kind: 'admin' };

/** Who a credential is. GET /v1/me refuses the admin token (403): it belongs to no organization. */
async function identify(client: AgentMessaging): Promise<Identity> {
  try {
    return await client.organizations.whoami();
  } catch (error) {
    if (error instanceof ForbiddenError) return { kind: 'admin' };
    throw error;
  }
}

const describe = (identity: Identity) =>
  identity.kind === 'admin'
    ? 'the admin token'
    : identity.agent
      ? `agent ${identity.agent.name} (${identity.agent.id}) of ${identity.organization.name}`
      : `organization ${identity.organization.name} (${identity.organization.id})`;

export function registerLogin(program: Command) {
  program
    .command('login')
    .description('check a token against the API, then store it with the URL (file mode 0600)')
    .requiredOption('--url <url>', 'the API, e.g. http://127.0.0.1:8787')
    .requiredOption('--token <token>', 'the admin token, an organization key (am_org_...) or an agent token')
    .action(async (credentials: { url: string; token: string }, command: Command) => {
      const identity = await identify(clientFor(credentials));
      const config = await writeConfig(credentials);
      emit(command, { url: credentials.url, config, ...identity }, () => {
        line(`Logged in to ${credentials.url} as ${describe(identity)}.`);
        line(colors.dim(`Saved in ${config}`));
      });
    });

  program
    .command('whoami')
    .description('who the current token is (AGENT_MESSAGING_URL/TOKEN, else what login stored)')
    .action(async (_options: object, command: Command) => {
      const credentials = await loadCredentials();
      const identity = await identify(clientFor(credentials));
      emit(command, { url: credentials.url, ...identity }, () =>
        line(`${describe(identity)} at ${credentials.url}`),
      );
    });
}
