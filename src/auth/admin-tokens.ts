import { Errors, HeraldError } from '../errors.ts';
import type { TokenVerifier } from './token-verifier.ts';

/**
 * JWTs that open the admin commands and the HTTP API like the API key: verified as every token is
 * (auth/token-verifier.ts), and carrying `claim: true`. Only the boolean `true` counts, so a claim
 * an identity provider fills with a string or a list (`"admin": "no"`) cannot open anything.
 */
export class AdminTokens {
  readonly #verifier: TokenVerifier;
  readonly #claim: string;

  constructor(verifier: TokenVerifier, claim: string) {
    this.#verifier = verifier;
    this.#claim = claim;
  }

  /** Resolves with the admin's user id; rejects with TOKEN_INVALID, TOKEN_EXPIRED, AUTH_UNAVAILABLE or FORBIDDEN (a valid token without the claim). */
  async verify(token: string): Promise<string> {
    const verified = await this.#verifier.verify(token);
    if (verified.claims[this.#claim] !== true) throw new HeraldError(Errors.FORBIDDEN, `The token's ${this.#claim} claim is not true: it is not an admin token`);
    return verified.user;
  }
}
