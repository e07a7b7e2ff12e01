import type { agents, deliveries, meetingEvents, messages } from '../../schema';

/** What one push needs: the claimed delivery, its agent's endpoint and secret, and its subject. */
export interface Target {
  delivery: typeof deliveries.$inferSelect;
  agent: Pick<
    typeof agents.$inferSelect,
    'id' | 'status' | 'endpointUrl' | 'endpointDisabledAt' | 'signingSecretEncrypted'
  >;
  message: typeof messages.$inferSelect | null;
  event: typeof meetingEvents.$inferSelect | null;
}

/** What one attempt came to. `final` outcomes are not retried. */
export interface Outcome {
  ok: boolean;
  final: boolean;
  responseStatus: number | null;
  error: string | null;
  /** 410 Gone: the agent asked us to stop pushing to this URL. */
  gone?: string;
  /** The body of a 2xx answer, which may carry a reply. */
  answer?: string;
}

export type AttemptStatus = 'delivered' | 'failed' | 'dead';

/** The field of a 2xx body that answers each kind of delivery that may be answered. */
export const answerField: Partial<Record<Target['delivery']['type'], string>> = {
  sync_request: 'reply',
  meeting_turn: 'speech',
};
