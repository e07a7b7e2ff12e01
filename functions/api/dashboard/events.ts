import type { MeetingEvent } from '@agent-messaging/sdk';

/**
 * Follows a meeting's events over Server-Sent Events (fetch, since EventSource cannot send the
 * Authorization header), from after `after`, resuming with Last-Event-ID when the stream ends
 * before the meeting does. Stops when the meeting ends or `signal` aborts.
 */
export async function followEvents(
  meetingId: string,
  token: string,
  after: number,
  onEvent: (event: MeetingEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  let lastSeq = after;
  let failures = 0;
  while (!signal.aborted) {
    try {
      const response = await fetch(`/v1/meetings/${encodeURIComponent(meetingId)}/events?after=${lastSeq}`, {
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'text/event-stream',
          'last-event-id': String(lastSeq),
        },
        signal,
      });
      if (!response.ok || !response.body) throw new Error(`events: HTTP ${response.status}`);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        // Events are separated by a blank line; each has `data:` lines with the event's JSON.
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trimStart())
            .join('\n');
          if (data) {
            const event = JSON.parse(data) as MeetingEvent;
            lastSeq = event.seq;
            onEvent(event);
            if (event.type === 'meeting_ended') return;
          }
          end = buffer.indexOf('\n\n');
        }
      }
      failures = 0;
    } catch (error) {
      if (signal.aborted) return;
      failures += 1;
      if (failures > 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** failures));
    }
  }
}
