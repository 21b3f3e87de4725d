import { isValidChannelName } from '../channels/channel-name.ts';
import { Errors, HeraldError } from '../errors.ts';
import type { Herald } from '../herald.ts';
import { bodyErrors, errorReplies } from '../http/reply-schemas.ts';
import { parseJsonObject } from './json-frame.ts';

/**
 * Seed 001's chat: each user listens on `dm:<user_code>`; a private message goes to every socket
 * of its recipient on whichever process holds them, from a socket or from `POST /create_chat`.
 */
export function privateChat(herald: Herald): void {
  const sendPrivateMessage = (sender: string, recipient: string, msg: string) =>
    herald.publish(`dm:${recipient}`, { type: 'private_message', sender, msg, recipient });
  const system = (recipient: string, msg: string) => ({ type: 'system', msg, sender: 'system', recipient });

  // With authentication on, a user's inbox is theirs alone: user_code must be the token's sub.
  // Messages are published by this route on the sender's behalf (server code), so clients never
  // publish to dm: channels directly.
  herald.namespace('dm', { subscribe: herald.authenticationConfigured ? 'owner' : 'anyone', publish: false });

  herald.socket('/connect_chat', async (socket) => {
    const user = socket.query.get('user_code');
    if (!user || !isValidChannelName(`dm:${user}`)) {
      throw new HeraldError(Errors.MISSING_PARAMETER, 'user_code is required (letters, digits, _ - . @)');
    }
    const refusal = herald.permissions.authorizeSubscribe(socket, `dm:${user}`);
    if (refusal !== undefined) throw refusal;
    await socket.subscribe(`dm:${user}`);
    socket.send(system(user, 'Welcome to the chat app!'));
    socket.onMessage(async (text) => {
      const frame = parseJsonObject(text);
      const recipient = frame?.recipient;
      if (frame?.type !== 'private_message' || typeof recipient !== 'string' || typeof frame.msg !== 'string' || !isValidChannelName(`dm:${recipient}`)) {
        socket.send({ type: 'error', msg: 'Expected {"type": "private_message", "recipient": "<user_code>", "msg": "<text>"}', sender: 'system', recipient: user });
        return;
      }
      const { reached } = await sendPrivateMessage(user, recipient, frame.msg);
      if (reached === 0) socket.send(system(user, `User ${recipient} is not online; the message was not delivered`));
    });
  });

  herald.http.post<{ Body: { sender: string; recipient: string; msg: string } }>(
    '/create_chat',
    {
      schema: {
        tags: ['demo'],
        summary: 'Send a private message of the private chat (as its WebSocket route does)',
        response: {
          200: {
            description: 'Sent (whether or not the recipient is online)',
            type: 'object',
            required: ['code', 'msg', 'data'],
            properties: { code: { type: 'integer', enum: [200] }, msg: { type: 'string', enum: ['成功'] }, data: { type: 'string', enum: [''] } },
          },
          ...errorReplies(bodyErrors),
        },
        body: {
          type: 'object',
          required: ['sender', 'recipient', 'msg'],
          properties: {
            sender: { type: 'string', minLength: 1, maxLength: 100 },
            recipient: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_\\-.@=+,~]+$' },
            msg: { type: 'string' },
          },
        },
      },
    },
    async (request) => {
      // With authentication configured, a message goes out in its sender's name only with the
      // sender's own token (or the API key, a trusted backend): no "admin" can be made up.
      const identity = await herald.identifyRequest(request);
      if (identity.kind === 'user' && identity.user !== request.body.sender) {
        throw new HeraldError(Errors.PERMISSION_DENIED, `This token is for user ${JSON.stringify(identity.user)}: it cannot send as ${JSON.stringify(request.body.sender)}`);
      }
      await sendPrivateMessage(request.body.sender, request.body.recipient, request.body.msg);
      return { code: 200, msg: '成功', data: '' };
    },
  );
}
