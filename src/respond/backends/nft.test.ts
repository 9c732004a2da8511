import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NftBackend, NFT_CHUNK, type NftBlocker } from './nft.ts';
import { fakeContext } from '../../../test/helpers/backend-context.ts';
import { validAddress, validBan } from '../nft/script.ts';

function fakeNft(fail = false) {
  const calls: string[] = [];
  const nft: NftBlocker = {
    table: 'portsnare',
    block: (bans) => {
      calls.push(`block ${bans.length}`);
      return fail ? Promise.reject(new Error('nft -f -: exit 1: boom')) : Promise.resolve();
    },
    unblock: (addresses) => {
      calls.push(`unblock ${addresses.length}`);
      return Promise.resolve();
    },
  };
  return { nft, calls };
}

test('nft: block logs the set and the time; lift and reapply batch NFT_CHUNK addresses per run', async () => {
  const { ctx, lines } = fakeContext('');
  const { nft, calls } = fakeNft();
  const backend = new NftBackend(ctx, nft);
  const report = await backend.block({
    address: '2001:db8::1',
    host: 'x',
    port: 1,
    mode: 'tcp',
    protocol: 'tcp',
    timeoutSeconds: 60,
  });
  assert.deepEqual(report, { key: 'NFT', ok: true, detail: 'inet portsnare blocked6' });
  assert.equal(lines.length, 1);
  const many = Array.from({ length: NFT_CHUNK + 1 }, (_, i) => ({
    address: `10.0.${(i >> 8) & 255}.${i & 255}`,
    backends: ['nft' as const],
    port: 0,
    mode: 'tcp',
    secondsLeft: null,
  }));
  assert.equal((await backend.lift(many)).length, NFT_CHUNK + 1);
  assert.equal(await backend.reapply(many), 0);
  assert.deepEqual(calls, ['block 1', 'unblock 50000', 'unblock 1', 'block 50000', 'block 1']);
  assert.equal(backend.describe(), 'nftables set inet portsnare blocked4/blocked6');
});

test('nft: without nft in use a lift fails for each ban, logged; a failed reapply counts every ban', async () => {
  const { ctx, lines } = fakeContext('');
  const none = new NftBackend(ctx, null);
  assert.equal(none.inUse(), false);
  assert.deepEqual(await none.lift([{ address: '192.0.2.1', backends: ['nft'], port: 0, mode: 'tcp' }]), []);
  assert.match(lines[0] ?? '', /192\.0\.2\.1/);
  const failing = new NftBackend(ctx, fakeNft(true).nft);
  const bans = ['192.0.2.1', '192.0.2.2'].map((address) => ({
    address,
    backends: ['nft' as const],
    port: 0,
    mode: 'tcp',
    secondsLeft: 5,
  }));
  assert.equal(await failing.reapply(bans), 2);
});

test('nft: one bad address in a batch fails only itself, never the batch (lift and reapply)', async () => {
  const { ctx, lines } = fakeContext('');
  const sent: string[][] = [];
  // Like NftResponder: the script is built from every address, and one invalid address throws.
  const nft: NftBlocker = {
    table: 'portsnare',
    block: (bans) => {
      bans.forEach(validBan);
      sent.push(bans.map((b) => b.address));
      return Promise.resolve();
    },
    unblock: (addresses) => {
      addresses.forEach(validAddress);
      sent.push(addresses);
      return Promise.resolve();
    },
  };
  const backend = new NftBackend(ctx, nft);
  const bans = ['192.0.2.1', '010.1.1.1', '192.0.2.3'].map((address) => ({
    address,
    backends: ['nft' as const],
    port: 0,
    mode: 'tcp',
    secondsLeft: 60,
  }));
  assert.equal(await backend.reapply(bans), 1);
  assert.deepEqual(await backend.lift(bans), ['192.0.2.1', '192.0.2.3']);
  assert.deepEqual(sent, [
    ['192.0.2.1', '192.0.2.3'],
    ['192.0.2.1', '192.0.2.3'],
  ]);
  assert.deepEqual(lines, [
    'adminalert: ERROR: NFT for host 010.1.1.1 failed: not an IPv4 or IPv6 address: "010.1.1.1"',
    'adminalert: ERROR: could not unblock host 010.1.1.1 from nftables: not an IPv4 or IPv6 address: "010.1.1.1"',
  ]);
});
