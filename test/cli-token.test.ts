import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { jwtVerify } from 'jose';
import { runHerald, serveOnFreePort, type HeraldCommand } from './support/cli.ts';
import { TEST_SECRET } from './support/tokens.ts';
import { TestClient } from './support/ws-client.ts';

// `herald token` from dist/: tokens a real server accepts.
const running: HeraldCommand[] = [];
const temporary = mkdtempSync(join(tmpdir(), 'herald-token-'));
after(async () => {
  await Promise.all(running.map((server) => server.stop()));
  rmSync(temporary, { recursive: true, force: true });
});

describe('herald token', () => {
  test('token: an HS256 JWT for --sub with --ttl and --claims, signed with the configured secret', async () => {
    const minted = await runHerald(['token', '--sub', 'ada', '--ttl', '15m', '--claims', '{"role":"staff"}'], { env: { HERALD_JWT_SECRET: TEST_SECRET } });
    assert.equal(minted.code, 0, minted.stderr);
    const { payload, protectedHeader } = await jwtVerify(minted.stdout.trim(), new TextEncoder().encode(TEST_SECRET));
    assert.equal(protectedHeader.alg, 'HS256');
    assert.equal(payload.sub, 'ada');
    assert.equal(payload.role, 'staff');
    assert.equal(payload.exp! - payload.iat!, 15 * 60);

    const secretFile = join(temporary, 'jwt-secret');
    writeFileSync(secretFile, `${TEST_SECRET}\n`);
    const fromFile = await runHerald(['token', '--sub', 'bob'], { env: { HERALD_JWT_SECRET_FILE: secretFile } });
    const verified = await jwtVerify(fromFile.stdout.trim(), new TextEncoder().encode(TEST_SECRET));
    assert.equal(verified.payload.exp! - verified.payload.iat!, 3600);

    const url = await serveOnFreePort(running, ['--no-demos'], { HERALD_JWT_SECRET: TEST_SECRET });
    const socket = await TestClient.open(`${url.replace('http', 'ws')}/connect?token=${fromFile.stdout.trim()}`);
    assert.match(await socket.next(), /"user":"bob"/);
    socket.ws.close();

    assert.deepEqual(await runHerald(['token', '--sub', 'ada']), {
      code: 2,
      stdout: '',
      stderr: 'herald token: herald token needs the HS256 secret: set HERALD_JWT_SECRET or HERALD_JWT_SECRET_FILE, or jwtSecret in the configuration file\n',
    });
    assert.deepEqual(await runHerald(['token'], { env: { HERALD_JWT_SECRET: TEST_SECRET } }), { code: 2, stdout: '', stderr: 'herald token: herald token needs --sub <user>\n' });
    const badTtl = await runHerald(['token', '--sub', 'a', '--ttl', 'soon'], { env: { HERALD_JWT_SECRET: TEST_SECRET } });
    assert.deepEqual(badTtl, { code: 2, stdout: '', stderr: 'herald token: --ttl must be a time span such as 30s, 15m, 1h or 7d, got "soon"\n' });
  });
});
