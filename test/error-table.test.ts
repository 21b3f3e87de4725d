import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as sdk from '../client/errors.ts';
import { closeCodeAtConnect, CloseCode, Errors, HeraldError, shouldReconnect } from '../src/errors.ts';
import * as shared from '../src/shared/error-table.ts';

describe('the error table', () => {
  test('every error has a decided HTTP status, close code and retry decision, and they agree', () => {
    const closeCodes = new Set<number>(Object.values(CloseCode));
    const codes = new Set<string>();
    for (const [name, definition] of Object.entries(Errors)) {
      assert.match(definition.code, /^HERALD_ERR_[A-Z_]+$/, name);
      assert.equal(definition.code, `HERALD_ERR_${name}`, name);
      assert.ok(!codes.has(definition.code), `${definition.code} is defined twice`);
      codes.add(definition.code);
      assert.ok(definition.message.length > 0, name);
      assert.ok(Number.isInteger(definition.statusCode) && definition.statusCode >= 400 && definition.statusCode <= 599, `${name}: status ${definition.statusCode}`);
      assert.ok(closeCodes.has(definition.closeCode), `${name}: close code ${definition.closeCode} is not a documented CloseCode`);
      assert.equal(typeof definition.endsConnection, 'boolean', name);
      assert.equal(definition.retry, shouldReconnect(definition.closeCode), `${name}: retry must match its close code`);
      assert.ok(Object.isFrozen(definition), name);
      // The server's failures are worth a retry; refusals of a request are not (with two transient
      // limits as the documented exceptions).
      if (definition.statusCode >= 500) assert.equal(definition.retry, true, name);
    }
    assert.equal(Errors.TOO_MANY_CONNECTIONS.retry, true);
    assert.equal(Errors.TOO_MANY_SUBSCRIPTIONS.closeCode, CloseCode.POLICY_VIOLATION);
    assert.equal(Errors.TOKEN_EXPIRED.closeCode, CloseCode.TOKEN_EXPIRED);
  });

  test('the close codes keep their documented meaning', () => {
    const reconnect = [1001, 1006, 1011, 1012, 1013, 4001, 4100];
    const giveUp = [1000, 1003, 1007, 1008, 1009, 4501];
    for (const code of reconnect) assert.equal(shouldReconnect(code), true, String(code));
    for (const code of giveUp) assert.equal(shouldReconnect(code), false, String(code));
    assert.equal(shouldReconnect(4000), true);
    assert.equal(shouldReconnect(4499), true);
    assert.equal(shouldReconnect(4500), false);
  });

  test('a token refused at connect closes with 1008, unless the failure is the server\'s', () => {
    assert.equal(closeCodeAtConnect(new HeraldError(Errors.TOKEN_EXPIRED)), CloseCode.POLICY_VIOLATION);
    assert.equal(closeCodeAtConnect(new HeraldError(Errors.TOKEN_INVALID)), CloseCode.POLICY_VIOLATION);
    assert.equal(closeCodeAtConnect(new HeraldError(Errors.AUTH_UNAVAILABLE)), CloseCode.TRY_AGAIN_LATER);
  });

  test('the SDK reads the very same table and close-code rules as the server (one module, not a copy)', () => {
    assert.equal(sdk.ServerErrors, Errors);
    assert.equal(sdk.ServerErrors, shared.Errors);
    assert.equal(sdk.CloseCode, CloseCode);
    assert.equal(sdk.shouldReconnect, shouldReconnect);
    assert.equal(sdk.shouldReconnect, shared.shouldReconnect);
  });
});
