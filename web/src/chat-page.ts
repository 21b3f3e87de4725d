import { ClientErrorCode, HeraldClientError, type Herald, type PublicationContext, type PublishResult, type Subscription } from '../../client/index.ts';
import { inboxChannel } from './chat/inbox-channel.ts';
import { RoomLog } from './chat/room-log.ts';
import { Roster } from './chat/roster.ts';
import { byId, el } from './lib/dom.ts';
import { connectToServer } from './lib/herald-client.ts';

// The chat demo on the client SDK: a room is channel `chat:<room>`, which keeps presence (who is
// here, with the name each page gives in its presence info) and history (what was said); private
// messages go to channel `inbox:<name>`, which keeps history too, so nothing is lost to a reconnect.
// Every message carries `at`, when its sender wrote it, so that what a reconnect recovers from the
// room and from the inbox can be shown in the order it was written.
// On a server with authentication, where each page's connection is its user's, private messages
// are the server's stored private messages instead (`send` with `store`): kept while their
// recipient is away and shown, marked as such, when they come back.

/** How much of the room's history a page shows on entering. */
const HISTORY_SHOWN = 50;

const joinForm = byId<HTMLFormElement>('join');
const nameInput = byId<HTMLInputElement>('name');
const roomInput = byId<HTMLInputElement>('room');
const chat = byId('chat');
const roomName = byId('room-name');
const me = byId('me');
const people = byId<HTMLUListElement>('people');
const peopleCount = byId('people-count');
const recipient = byId<HTMLSelectElement>('recipient');
const composer = byId<HTMLFormElement>('composer');
const textInput = byId<HTMLInputElement>('text');

interface Room {
  channel: string;
  subscription: Subscription;
  roster: Roster;
  log: RoomLog;
  /** True while the SDK hands over what a resubscription recovered (right after `subscribed`). */
  recovering: boolean;
}

/** True while the SDK hands this page's inbox what a resubscription recovered. */
let inboxRecovering = false;

/** Sets `flag` for the publications the SDK hands over right after a recovering `subscribed` event. */
function whileRecovering(set: (on: boolean) => void): void {
  // The SDK hands the recovered publications over synchronously, right after the event.
  set(true);
  queueMicrotask(() => set(false));
}

/** When the sender wrote a message (`at`, ms since 1970), if it says. */
function writtenAt(data: unknown): number | undefined {
  const at = (data as { at?: unknown } | null)?.at;
  return typeof at === 'number' && Number.isFinite(at) ? at : undefined;
}

let client: Herald | undefined;
let myName = '';
/**
 * The user the server verified from this browser's token (its `token` cookie), or null on a server
 * without authentication, where names are whatever each page says.
 */
let verifiedUser: string | null = null;
let room: Room | undefined;

function join(name: string, roomToJoin: string): void {
  if (client !== undefined && name !== myName) {
    client.close();
    client = undefined;
  }
  if (client === undefined) client = startClient(name);
  room?.subscription.unsubscribe();
  const channel = `chat:${roomToJoin}`;
  const log = new RoomLog(byId('messages'));
  log.clear();
  const current: Room = {
    channel,
    roster: new Roster(),
    log,
    recovering: false,
    subscription: client.subscribe(channel, (data, context) => showRoomMessage(current, data, context)),
  };
  room = current;
  const { subscription, roster } = current;
  subscription.on('subscribed', ({ resubscribed, recovered }) => {
    if (resubscribed && recovered) {
      log.recoveryNotice('Reconnected: messages sent meanwhile are shown.');
      whileRecovering((on) => {
        current.recovering = on;
      });
    } else if (resubscribed) {
      log.newEpoch();
      log.append({ kind: 'notice', text: 'Reconnected, but the server lost the room’s history: showing what it has now.' });
    }
    if (!resubscribed || !recovered) void loadHistory(current);
    void loadPresence(current);
  });
  subscription.on('error', (error) => log.append({ kind: 'notice', text: `Could not enter the room: ${error.message}` }));
  for (const type of ['join', 'leave'] as const) {
    subscription.on(type, (client) => {
      const changed = roster.event(type, client);
      if (room !== current) return;
      showPeople(roster);
      if (changed !== undefined && changed !== myName) log.append({ kind: 'notice', text: `${changed} ${type === 'join' ? 'joined' : 'left'}` });
    });
  }
  roomName.textContent = roomToJoin;
  me.textContent = name;
  showPeople(roster);
  sessionStorage.setItem('herald-chat-name', name);
  history.replaceState(null, '', `?room=${encodeURIComponent(roomToJoin)}`);
  joinForm.hidden = true;
  chat.hidden = false;
  textInput.focus();
}

function startClient(name: string): Herald {
  myName = name;
  const herald = connectToServer({ info: { name } });
  herald.on('connected', ({ user }) => {
    verifiedUser = user;
  });
  herald.on('disconnected', ({ reconnect }) => {
    if (reconnect) room?.log.connectionLost();
  });
  const channel = inboxChannel(name);
  /** Private messages shown, by epoch and offset, so one loaded from history is not shown twice. */
  const seen = new Set<string>();
  const showPrivate = (data: unknown, offset: number | undefined, epoch: string | undefined): void => {
    if (offset !== undefined && epoch !== undefined) {
      if (seen.has(`${epoch}/${offset}`)) return;
      seen.add(`${epoch}/${offset}`);
    }
    // With authentication on, the server refuses a private message whose `from` is not its
    // sender's verified user, so the name shown here is who wrote it, not who they claim to be.
    const message = data as { from?: unknown; text?: unknown };
    const from = typeof message?.from === 'string' ? message.from : 'someone';
    const text = typeof message?.text === 'string' ? message.text : JSON.stringify(data);
    const shown = { kind: 'theirs' as const, who: `${from} → you (private)`, text, private: true };
    if (inboxRecovering) room?.log.recoveredPrivate(shown, writtenAt(data));
    else room?.log.append(shown);
  };
  const inbox = herald.subscribe(channel, (data, { offset, epoch }) => showPrivate(data, offset, epoch));
  herald.onMessage((message) => {
    const log = room?.log;
    // Not acknowledged until shown: with no room on screen yet, it comes again on the next connection.
    if (log === undefined) throw new Error('no room shown yet');
    const data = message.data as { text?: unknown } | null;
    const text = typeof data?.text === 'string' ? data.text : JSON.stringify(message.data);
    const who = `${message.from ?? 'the server'} → you (private${message.replayed === true ? ', while you were away' : ''})`;
    const item = log.append({ kind: 'theirs', who, text, private: true, attributes: message.inbox === undefined ? {} : { 'data-inbox': message.inbox } });
    if (message.replayed === true) item.classList.add('away');
  });
  inbox.on('subscribed', ({ resubscribed, recovered }) => {
    if (resubscribed && recovered) whileRecovering((on) => (inboxRecovering = on));
    else if (resubscribed) {
      // The server lost the inbox's history (a new epoch): what it has now was written since;
      // show what of it this page has not, and say that earlier messages may be gone.
      room?.log.append({ kind: 'notice', text: 'Reconnected, but the server lost your private messages’ history: showing those it has now.' });
      herald.history(channel).then(
        ({ publications, epoch }) => publications.forEach((entry) => showPrivate(entry.data, entry.offset, epoch)),
        () => {},
      );
    }
  });
  herald.on('disconnected', ({ reason, reconnect, code }) => {
    if (reconnect || code === 1000) return;
    // The server refused us for good (e.g. it requires sign-in): let the user see why.
    room?.log.append({ kind: 'notice', text: `The server closed the connection: ${reason || code}` });
    client = undefined;
    joinForm.hidden = false;
  });
  return herald;
}

function showRoomMessage(current: Room, data: unknown, context: PublicationContext): void {
  if (room !== current) return;
  const message = data as { user?: unknown; text?: unknown };
  const known = typeof message?.user === 'string' && typeof message.text === 'string';
  const shown = known
    ? { kind: message.user === myName ? ('mine' as const) : ('theirs' as const), who: message.user as string, text: message.text as string }
    : { kind: 'theirs' as const, who: 'published to the room', text: typeof data === 'string' ? data : JSON.stringify(data) };
  if (context.offset === undefined) current.log.append(shown);
  else current.log.room(context.offset, shown, current.recovering ? { at: writtenAt(data) } : undefined);
}

async function loadHistory(current: Room): Promise<void> {
  try {
    const { publications } = await client!.history(current.channel, { limit: HISTORY_SHOWN });
    for (const entry of publications) showRoomMessage(current, entry.data, { channel: current.channel, offset: entry.offset });
  } catch (error) {
    current.log.append({ kind: 'notice', text: `Could not load the room’s history: ${(error as Error).message}` });
  }
}

async function loadPresence(current: Room): Promise<void> {
  current.roster.snapshotRequested();
  try {
    current.roster.snapshot(await client!.presence(current.channel));
  } catch {
    // Pushes keep the list going; the next (re)subscription asks again.
    current.roster.snapshot([]);
  }
  if (room === current) showPeople(current.roster);
}

function showPeople(roster: Roster): void {
  const users = roster.users;
  peopleCount.textContent = String(users.length);
  people.replaceChildren(
    ...users.map((user) => {
      if (user === myName) return el('li', { class: 'me' }, el('button', { type: 'button', disabled: '' }, `${user} (you)`));
      const button = el('button', { type: 'button', 'aria-pressed': String(recipient.value === user), 'data-user': user }, user);
      button.addEventListener('click', () => {
        recipient.value = recipient.value === user ? '' : user;
        showPeople(roster);
        textInput.focus();
      });
      return el('li', {}, button);
    }),
  );
  const chosen = recipient.value;
  const others = users.filter((user) => user !== myName);
  recipient.replaceChildren(
    el('option', { value: '' }, 'everyone in the room'),
    ...others.map((user) => el('option', { value: user }, `${user} (private)`)),
  );
  recipient.value = others.includes(chosen) ? chosen : '';
}

/**
 * Publishes with an idempotency key and retries while the connection is down: a retry of a
 * publish that did reach the server is accepted once, so the message is never shown twice.
 */
async function publishOnce(herald: Herald, channel: string, data: unknown): Promise<PublishResult> {
  const idempotencyKey = `${myName}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  for (let attempt = 1; ; attempt++) {
    try {
      return await herald.publish(channel, data, { idempotencyKey });
    } catch (error) {
      const transient = error instanceof HeraldClientError && (error.code === ClientErrorCode.CONNECTION_LOST || error.code === ClientErrorCode.TIMEOUT);
      if (!transient || attempt === 6) throw error;
    }
  }
}

function sendToRoom(current: Room, text: string): void {
  const item = current.log.append({ kind: 'mine', who: myName, text });
  item.classList.add('pending');
  publishOnce(client!, current.channel, { user: myName, text, at: Date.now() }).then(
    ({ offset }) => {
      item.classList.remove('pending');
      if (offset === undefined) return;
      // The publication may have arrived before the reply: then it is on the list already.
      if (current.log.has(offset)) item.remove();
      else current.log.place(offset, item);
    },
    (error: Error) => {
      item.classList.replace('pending', 'failed');
      item.append(` — not sent: ${error.message}`);
    },
  );
}

function sendPrivately(current: Room, user: string, text: string): void {
  const item = current.log.append({ kind: 'mine', who: `You → ${user} (private)`, text, private: true });
  item.classList.add('pending');
  if (verifiedUser !== null) {
    client!.send(user, { text, at: Date.now() }, { store: true }).then(
      ({ live }) => {
        item.classList.remove('pending');
        if (!live) item.append(` — ${user} is away: they will see it when they come back`);
      },
      (error: Error) => {
        item.classList.replace('pending', 'failed');
        item.append(` — not sent: ${error.message}`);
      },
    );
    return;
  }
  publishOnce(client!, inboxChannel(user), { from: verifiedUser ?? myName, to: user, text, at: Date.now() }).then(
    () => item.classList.remove('pending'),
    (error: Error) => {
      item.classList.replace('pending', 'failed');
      item.append(` — not sent: ${error.message}`);
    },
  );
}

joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  join(nameInput.value.trim(), roomInput.value.trim());
});

byId('change').addEventListener('click', () => {
  nameInput.value = myName;
  roomInput.value = room === undefined ? roomInput.value : room.channel.slice('chat:'.length);
  joinForm.hidden = false;
  nameInput.focus();
});

composer.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = textInput.value.trim();
  if (text === '' || room === undefined || client === undefined) return;
  textInput.value = '';
  if (recipient.value === '') sendToRoom(room, text);
  else sendPrivately(room, recipient.value, text);
});

// A reload keeps this tab's name and the room in the address.
const savedName = sessionStorage.getItem('herald-chat-name');
const linkedRoom = new URLSearchParams(location.search).get('room');
if (linkedRoom !== null) roomInput.value = linkedRoom;
if (savedName !== null) nameInput.value = savedName;
if (savedName !== null && linkedRoom !== null && joinForm.checkValidity()) join(savedName, linkedRoom);
