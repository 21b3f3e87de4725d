/**
 * Prints every frame a WebSocket URL receives, and sends each line typed on stdin.
 * Usage: npm run tail -- ws://127.0.0.1:8000/ws/news [--cookie 'token=…'] [--bearer <token>]
 */
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

const url = process.argv[2];
if (url === undefined) {
  console.error('usage: npm run tail -- ws://127.0.0.1:8000/ws/<channel>');
  process.exit(2);
}
const headers: Record<string, string> = {};
for (let i = 3; i < process.argv.length; i += 2) {
  const value = process.argv[i + 1] ?? '';
  if (process.argv[i] === '--cookie') headers.cookie = value;
  else if (process.argv[i] === '--bearer') headers.authorization = `Bearer ${value}`;
}
const socket = new WebSocket(url, { headers });
socket.on('open', () => console.error(`connected to ${url} (type a line to send it; Ctrl-C to quit)`));
socket.on('message', (data) => console.log(data.toString()));
socket.on('unexpected-response', (_request, response) => {
  console.error(`refused: HTTP ${response.statusCode}`);
  process.exit(1);
});
socket.on('error', (error) => {
  console.error(`error: ${error.message}`);
  process.exit(1);
});
socket.on('close', (code, reason) => {
  console.error(`closed: ${code} ${reason.toString()}`);
  process.exit(0);
});
createInterface({ input: process.stdin }).on('line', (line) => socket.send(line));
