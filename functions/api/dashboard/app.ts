import { h } from './dom';
import { forgetKey, loadNames, type Session, signIn, storedKey } from './state';
import { agentsView } from './views/agents';
import { meetingsView, meetingView } from './views/meetings';
import { deadLettersView, messagesView } from './views/messages';
import { sessionsView } from './views/sessions';

// The dashboard: one page, the organization key entered once and kept in this tab's session
// storage (never in a URL), the sections addressed by the URL's fragment.

const sections = [
  { hash: 'agents', label: 'Agents' },
  { hash: 'messages', label: 'Messages' },
  { hash: 'dead-letters', label: 'Dead letters' },
  { hash: 'sessions', label: 'Sessions' },
  { hash: 'meetings', label: 'Meetings' },
] as const;

const root = document.getElementById('root') as HTMLElement;
/** Said to screen readers: outcomes of actions. */
const announcer = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
const announce = (text: string) => announcer.replaceChildren(text);

/** Aborts what the view on screen has running (a meeting's event stream) when it is left. */
let leaving = new AbortController();

function signOut() {
  leaving.abort();
  forgetKey();
  window.onhashchange = null;
  signInForm();
}

function signInForm(error?: string) {
  const input = h('input', { id: 'key', name: 'key', type: 'password', autocomplete: 'off', required: true });
  const form = h(
    'form',
    {
      class: 'sign-in',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        try {
          start(await signIn(input.value.trim()));
        } catch (failure) {
          signInForm((failure as Error).message);
        }
      },
    },
    h('h1', {}, 'Agent Messaging'),
    h('label', { for: 'key' }, 'Organization key'),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
    error ? h('p', { role: 'alert', class: 'error' }, error) : null,
    h('p', { class: 'hint' }, 'Kept in this tab only, until you sign out or close it.'),
  );
  root.replaceChildren(h('main', {}, form));
  input.focus();
}

function start(session: Session) {
  const main = h('main', { id: 'main', tabindex: -1 });
  const links = sections.map((section) => h('a', { href: `#${section.hash}` }, section.label));
  root.replaceChildren(
    h(
      'header',
      {},
      h('h1', {}, 'Agent Messaging'),
      h('p', { class: 'organization' }, session.organization.name),
      h('button', { type: 'button', onclick: signOut }, 'Sign out'),
    ),
    h('nav', { 'aria-label': 'Sections' }, h('ul', {}, ...links.map((link) => h('li', {}, link)))),
    main,
    announcer,
  );
  const show = async () => {
    leaving.abort();
    leaving = new AbortController();
    const [fragment, id] = location.hash.slice(1).split('/');
    const hash = fragment || 'agents';
    for (const link of links) {
      const current = link.getAttribute('href') === `#${hash === 'meeting' ? 'meetings' : hash}`;
      if (current) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    main.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
    try {
      // Names first, so every view can say who is who.
      if (session.names.size === 0) await loadNames(session);
      const view =
        hash === 'messages'
          ? await messagesView(session)
          : hash === 'dead-letters'
            ? await deadLettersView(session, announce)
            : hash === 'sessions'
              ? await sessionsView(session)
              : hash === 'meetings'
                ? await meetingsView(session)
                : hash === 'meeting' && id
                  ? await meetingView(session, id, leaving.signal)
                  : await agentsView(session);
      main.replaceChildren(view);
    } catch (error) {
      main.replaceChildren(h('p', { role: 'alert', class: 'error' }, (error as Error).message));
    }
  };
  window.onhashchange = show;
  void show();
}

const key = storedKey();
if (key) signIn(key).then(start, signOut);
else signInForm();
