export type { AgentCredentials, AgentInput, AgentPatch, AgentQuery } from './api/agents';
export type { MeetingEventOf, MeetingInput, MeetingQuery, MeetingSubscription } from './api/meetings';
export type { MessageFilters, MessagePage, SendOptions } from './api/messages';
export { AgentMessaging } from './client';
export * from './errors';
export {
  type AgentHandlerOptions,
  type Answer,
  createAgentHandler,
  type DedupeStore,
  memoryDedupeStore,
} from './handler';
export { type ResumeOptions, resumeAgentHandler } from './resume';
export type { ClientOptions } from './transport';
export * from './types';
