import { createPublicKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ConfigError } from '../config.ts';
import { Errors, HeraldError } from '../errors.ts';

export interface TokenVerifierOptions {
  /** HS256 shared secret. */
  secret?: string | undefined;
  /** PEM public key: RSA (RS256) or P-256 EC (ES256). */
  publicKey?: string | undefined;
  /** URL of a JSON Web Key Set (RS256/ES256 keys picked by `kid`). */
  jwksUrl?: string | undefined;
  /** Accepted `alg` values; see defaults in docs/security.md. */
  algorithms?: string[] | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
}

/** What a verified token says about its holder. */
export interface VerifiedToken {
  /** The `sub` claim: the user id. */
  user: string;
  /** Expiry in ms since the epoch (`exp` × 1000), or undefined for a token without `exp`. */
  expiresAt: number | undefined;
  claims: Readonly<JWTPayload>;
}

/**
 * Verifies connection JWTs with jose. The accepted algorithms are pinned from configuration, so a
 * token signed with another algorithm (or `alg: none`, or an HS256 token forged with an RSA public
 * key as its secret) is refused before its signature is even considered.
 *
 * Every refusal is a HeraldError: `HERALD_ERR_TOKEN_EXPIRED` for an expired token,
 * `HERALD_ERR_AUTH_UNAVAILABLE` when a JWKS could not be fetched (unreachable, timed out, or
 * answering anything but 200 with JSON), `HERALD_ERR_TOKEN_INVALID` with a
 * short reason otherwise. Reasons never contain the token.
 */
export class TokenVerifier {
  readonly #key: Uint8Array | KeyObject | JWTVerifyGetKey;
  readonly #algorithms: string[];
  readonly #issuer: string | undefined;
  readonly #audience: string | undefined;

  constructor(options: TokenVerifierOptions) {
    this.#issuer = options.issuer;
    this.#audience = options.audience;
    if (options.secret !== undefined) {
      this.#key = new TextEncoder().encode(options.secret);
      this.#algorithms = options.algorithms ?? ['HS256'];
    } else if (options.publicKey !== undefined) {
      let key: KeyObject;
      try {
        key = createPublicKey(options.publicKey);
      } catch {
        throw new ConfigError('jwtPublicKey (HERALD_JWT_PUBLIC_KEY) is not a PEM public key');
      }
      // A key fits one algorithm family; accepting others would only produce confusing refusals.
      const fits = key.asymmetricKeyType === 'rsa' ? 'RS256' : key.asymmetricKeyType === 'ec' ? 'ES256' : undefined;
      if (fits === undefined) throw new ConfigError('jwtPublicKey must be an RSA (RS256) or P-256 EC (ES256) key');
      this.#key = key;
      this.#algorithms = (options.algorithms ?? ['RS256', 'ES256']).filter((alg) => alg === fits);
      if (this.#algorithms.length === 0) throw new ConfigError(`jwtAlgorithms does not include ${fits}, the only one this key can verify`);
    } else if (options.jwksUrl !== undefined) {
      this.#key = createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 });
      this.#algorithms = options.algorithms ?? ['RS256', 'ES256'];
    } else {
      throw new ConfigError('TokenVerifier needs a secret, a public key or a JWKS URL');
    }
  }

  /** Verifies `token`; resolves with its user and expiry, or rejects with a HeraldError. */
  async verify(token: string): Promise<VerifiedToken> {
    let payload: JWTPayload;
    try {
      const options = { algorithms: this.#algorithms, issuer: this.#issuer, audience: this.#audience };
      // One call per key kind keeps jose's overloads apparent to the type checker.
      const result =
        typeof this.#key === 'function' ? await jwtVerify(token, this.#key, options) : await jwtVerify(token, this.#key, options);
      payload = result.payload;
    } catch (error) {
      throw refusal(error);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') {
      throw new HeraldError(Errors.TOKEN_INVALID, 'Invalid token: no sub claim');
    }
    return { user: payload.sub, expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined, claims: payload };
  }
}

function refusal(error: unknown): HeraldError {
  if (error instanceof joseErrors.JWTExpired) return new HeraldError(Errors.TOKEN_EXPIRED, 'Token expired');
  // Not a verdict on the token: the key set could not be fetched (network error, timeout, an
  // answer other than 200 such as a 5xx during an identity-provider outage, or a body that is not
  // JSON). jose reports the last two as its generic JOSEError, never used for a token's own faults.
  // Refusing with 1008 would make every client give up; the client should retry instead.
  if (!(error instanceof joseErrors.JOSEError) || error instanceof joseErrors.JWKSTimeout || error.code === 'ERR_JOSE_GENERIC') {
    return new HeraldError(Errors.AUTH_UNAVAILABLE, undefined, { cause: error });
  }
  let reason = 'malformed';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) reason = 'algorithm not allowed';
  else if (error instanceof joseErrors.JWSSignatureVerificationFailed) reason = 'bad signature';
  else if (error instanceof joseErrors.JWTClaimValidationFailed) reason = `${error.claim} claim rejected`;
  else if (error instanceof joseErrors.JWKSNoMatchingKey) reason = 'no matching key';
  else if (error instanceof joseErrors.JWKSInvalid) reason = 'key set invalid';
  else if (error instanceof joseErrors.JOSENotSupported) reason = 'unsupported algorithm';
  return new HeraldError(Errors.TOKEN_INVALID, `Invalid token: ${reason}`, { cause: error });
}
