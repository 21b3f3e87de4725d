import { SignJWT, type JWTPayload } from 'jose';

/** A 32+ character HS256 secret for tests. */
export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256!';

/** Signs an HS256 token for `sub`, valid for `expiresInSeconds` (negative: already expired). */
export function hs256Token(sub: string | undefined, options: { secret?: string; expiresInSeconds?: number; claims?: JWTPayload } = {}): Promise<string> {
  const jwt = new SignJWT({ ...options.claims }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (sub !== undefined) jwt.setSubject(sub);
  jwt.setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresInSeconds ?? 3600));
  return jwt.sign(new TextEncoder().encode(options.secret ?? TEST_SECRET));
}

/** An unsigned token (`alg: none`), which every verifier must refuse. */
export function unsignedToken(sub: string): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub, exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
}
