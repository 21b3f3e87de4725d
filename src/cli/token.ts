import { SignJWT } from 'jose';
import { ConfigError } from '../config.ts';
import { UsageError } from '../errors.ts';
import type { Command } from './command.ts';
import { configOption, settingsFor } from './load-settings.ts';

export const token: Command = {
  name: 'token',
  summary: 'Print an HS256 JWT signed with the configured secret, for development and tests.',
  options: {
    sub: { type: 'string', value: '<user>', description: 'The user (the `sub` claim). Required.' },
    ttl: { type: 'string', value: '<time>', description: 'Lifetime: 30s, 15m, 1h, 7d… (default 1h).' },
    claims: { type: 'string', value: '<json>', description: 'More claims, as a JSON object, e.g. \'{"role":"staff"}\'.' },
    ...configOption,
  },
  details:
    'The secret is the server\'s: HERALD_JWT_SECRET, HERALD_JWT_SECRET_FILE or jwtSecret in the\n' +
    'configuration file. The configured issuer and audience (HERALD_JWT_ISSUER, HERALD_JWT_AUDIENCE) are set too.',
  async run(parsed) {
    const sub = parsed.values.sub;
    if (typeof sub !== 'string' || sub === '') throw new UsageError('herald token needs --sub <user>');
    if (parsed.positionals.length > 0) throw new UsageError(`herald token takes no arguments, got ${JSON.stringify(parsed.positionals[0])}`);
    const { options } = settingsFor(parsed);
    if (options.jwtSecret === undefined) {
      throw new ConfigError('herald token needs the HS256 secret: set HERALD_JWT_SECRET or HERALD_JWT_SECRET_FILE, or jwtSecret in the configuration file');
    }
    const claims = extraClaims(parsed.values.claims);
    const jwt = new SignJWT({ ...claims, sub }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt();
    if (options.jwtIssuer !== undefined) jwt.setIssuer(options.jwtIssuer);
    if (options.jwtAudience !== undefined) jwt.setAudience(options.jwtAudience);
    const ttl = typeof parsed.values.ttl === 'string' ? parsed.values.ttl : '1h';
    try {
      jwt.setExpirationTime(ttl);
    } catch {
      throw new UsageError(`--ttl must be a time span such as 30s, 15m, 1h or 7d, got ${JSON.stringify(ttl)}`);
    }
    console.log(await jwt.sign(new TextEncoder().encode(options.jwtSecret)));
    return 0;
  },
};

function extraClaims(text: string | boolean | undefined): Record<string, unknown> {
  if (typeof text !== 'string') return {};
  let claims: unknown;
  try {
    claims = JSON.parse(text);
  } catch {
    throw new UsageError(`--claims must be a JSON object, got ${JSON.stringify(text)}`);
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new UsageError(`--claims must be a JSON object, got ${JSON.stringify(text)}`);
  }
  return claims as Record<string, unknown>;
}
