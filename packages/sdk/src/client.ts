import { agentsApi } from './api/agents';
import { asyncApi, inboxApi, syncApi } from './api/conversations';
import { meetingsApi } from './api/meetings';
import { messagesApi } from './api/messages';
import { organizationsApi } from './api/organizations';
import { sessionsApi } from './api/sessions';
import { type ClientOptions, createTransport } from './transport';

/**
 * The Agent Messaging API client. Which calls work depends on the token: the admin token creates
 * organizations, an organization key manages agents, an agent token talks as that agent.
 */
export class AgentMessaging {
  readonly organizations;
  readonly agents;
  readonly messages;
  readonly sync;
  readonly inbox;
  readonly async;
  readonly sessions;
  readonly meetings;

  constructor(options: ClientOptions) {
    const request = createTransport(options);
    this.organizations = organizationsApi(request);
    this.agents = agentsApi(request);
    this.messages = messagesApi(request);
    this.sync = syncApi(request);
    this.inbox = inboxApi(request);
    this.async = asyncApi(request, this.inbox);
    this.sessions = sessionsApi(request);
    this.meetings = meetingsApi(request, this.organizations.whoami);
  }
}
