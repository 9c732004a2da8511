// The native trial bind behind every packet-mode alert (portInUse), on loopback only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { loadNative } from '../native.ts';

const native = loadNative();
const portInUse = (protocol: 'tcp' | 'udp', address: string, port: number) =>
  native.portInUse(protocol, address, port);

async function listen(host: string): Promise<net.Server> {
  const server = net.createServer((socket) => socket.end('x'));
  server.listen(0, host);
  await once(server, 'listening');
  return server;
}

test('a TCP listener makes its port in use, for its own address only', async () => {
  const server = await listen('127.0.0.1');
  const { port } = server.address() as net.AddressInfo;
  assert.equal(portInUse('tcp', '127.0.0.1', port), 'in-use');
  assert.equal(portInUse('tcp', '127.0.0.2', port), 'free', 'a service bound to one address masks only it');
  assert.equal(portInUse('udp', '127.0.0.1', port), 'free');
  server.close();
  await once(server, 'close');
  assert.equal(portInUse('tcp', '127.0.0.1', port), 'free');
});

test('a wildcard listener covers every address; a dual-stack [::] one covers IPv4 too', async () => {
  const v4 = await listen('0.0.0.0');
  const p4 = (v4.address() as net.AddressInfo).port;
  assert.equal(portInUse('tcp', '127.0.0.5', p4), 'in-use');
  v4.close();
  const dual = net.createServer().listen({ port: 0, host: '::', ipv6Only: false });
  await once(dual, 'listening');
  const p6 = (dual.address() as net.AddressInfo).port;
  assert.equal(portInUse('tcp', '::1', p6), 'in-use');
  assert.equal(portInUse('tcp', '127.0.0.1', p6), 'in-use');
  dual.close();
});

test('TIME_WAIT does not count: the port is a trap again once the service is gone', async () => {
  const server = await listen('127.0.0.1');
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  client.on('data', () => undefined);
  await once(client, 'end'); // the server wrote and closed first: its side goes to TIME_WAIT
  client.end();
  server.close();
  await once(server, 'close');
  assert.equal(portInUse('tcp', '127.0.0.1', port), 'free');
});

test('a bound UDP socket makes its port in use; a foreign address is unknown', async () => {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  assert.equal(portInUse('udp', '127.0.0.1', port), 'in-use');
  socket.close();
  assert.equal(portInUse('tcp', '192.0.2.1', 1), 'unknown', 'not an address of this host');
  assert.equal(portInUse('tcp', 'not-an-address', 1), 'unknown');
  assert.equal(portInUse('tcp', '127.0.0.1', 70000), 'unknown');
});
