// The live websocket (docs/websocket.md): hello, snapshot, sequenced deltas, sync/heartbeat positions,
// the screen pop; after a lost connection it reconnects with `since` so nothing is missed or repeated.
import { currentLanguage } from './i18n.js';

const NO_RETRY = new Set([4401, 4403]);  // log in again / fix the page: retrying cannot help
const PING_EVERY_MS = 20_000;

export function emptyState() {
  return { calls: {}, queues: {}, agents: {}, pbx: null };
}

// Applies one frame to `state` (a snapshot replaces it); returns true when the state changed.
export function applyFrame(state, frame) {
  if (frame.type === 'snapshot') {
    Object.assign(state, emptyState(), structuredClone(frame.data));
    return true;
  }
  if (frame.type !== 'delta') return false;
  if (frame.kind === 'reset') Object.assign(state, { calls: {}, queues: {}, agents: {} });
  else if (frame.kind === 'pbx') state.pbx = frame.data;
  else {
    const records = state[`${frame.kind}s`];
    if (!records) return false;
    if (frame.data === null) delete records[frame.key];
    else records[frame.key] = frame.data;
  }
  return true;
}

// connectLive({ scope, onHello, onChange(state, frame), onPop(frame), onStatus(status) }) → { state, close() }
// status: 'connecting' | 'open' | 'closed' | 'refused'.
export function connectLive({ scope = null, onHello, onChange, onPop, onStatus } = {}) {
  const state = emptyState();
  let position = null;
  let socket = null;
  let closed = false;
  let backoff = 500;
  let retryTimer = null;
  let pingTimer = null;

  const status = (s) => onStatus?.(s);

  function url() {
    const params = new URLSearchParams({ lang: currentLanguage() });
    if (position !== null) params.set('since', String(position));
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    return `${scheme}://${location.host}/ws?${params}`;
  }

  function handle(frame) {
    if (frame.type === 'hello') {
      onHello?.(frame);
      // The widest scope is the default; ask for another only when the page wants it and may have it.
      const widest = frame.scopes[frame.scopes.length - 1];
      if (scope && scope !== widest && frame.scopes.includes(scope)) send({ type: 'subscribe', scope });
      return;
    }
    if (frame.type === 'pop') { onPop?.(frame); return; }
    if (frame.type === 'error') { console.warn('ws', frame.code, frame.message); return; }
    const changed = applyFrame(state, frame);
    if ('seq' in frame) position = frame.seq;
    if (changed) onChange?.(state, frame);
  }

  function send(message) {
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function open() {
    if (closed) return;
    status('connecting');
    socket = new WebSocket(url());
    socket.addEventListener('open', () => {
      backoff = 500;
      status('open');
      pingTimer = setInterval(() => send({ type: 'ping' }), PING_EVERY_MS);
    });
    socket.addEventListener('message', (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      handle(frame);
    });
    socket.addEventListener('close', (event) => {
      clearInterval(pingTimer);
      if (closed) return;
      if (NO_RETRY.has(event.code)) { status('refused'); return; }
      status('closed');
      retryTimer = setTimeout(open, backoff);
      backoff = Math.min(backoff * 2, 10_000);
    });
  }

  open();
  return {
    state,
    send,
    resync: () => send({ type: 'resume', since: position ?? 0 }),
    close() {
      closed = true;
      clearTimeout(retryTimer);
      clearInterval(pingTimer);
      socket?.close(1000);
    },
  };
}

// Time in a state as the PBX reports it: a wrap-up past its end reads as available
// (acd.state.effective_agent_state).
export function effectiveAgentState(agent, now = Date.now() / 1000) {
  if (!agent) return { state: 'logged_out', since: null };
  if (agent.state === 'wrap_up' && agent.wrapup_until && now >= agent.wrapup_until) {
    return { state: 'available', since: agent.wrapup_until };
  }
  return { state: agent.state, since: agent.since };
}

// 75 → "1:15"; 3725 → "1:02:05".
export function clock(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '';
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

// Runs `fn` every second while `root` is on the page; once it is gone, runs `cleanup` and stops.
export function whileShown(root, fn, cleanup) {
  const timer = setInterval(() => {
    if (!root.isConnected) { clearInterval(timer); cleanup?.(); return; }
    fn();
  }, 1000);
  return () => { clearInterval(timer); cleanup?.(); };
}
