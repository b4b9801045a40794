// The broker's TLS material per kind of peer: with namesrvTlsEnable alone it dials the NameServers
// with TLS trusting tlsCaPath and serves plain TCP; a client that asks both the NameServers and
// other brokers (the disk hand-off) uses TLS exactly towards the kind that serves it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_BROKER_CONFIG } from '../src/broker/broker-config.js';
import { loadBrokerTls, mixedClientTls } from '../src/broker/broker-tls.js';
import { writeClusterTls } from '../src/devkit/cluster-tls.js';

const dir = mkdtempSync(join(tmpdir(), 'rmq-broker-tls-'));
const files = writeClusterTls(dir);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NS = ['127.0.0.1:9876'];
const config = (over: Partial<typeof DEFAULT_BROKER_CONFIG>) => ({ ...DEFAULT_BROKER_CONFIG, namesrvAddr: NS, tlsCertPath: files.certPath, tlsKeyPath: files.keyPath, tlsCaPath: files.caPath, ...over });

describe('broker TLS per kind of peer', () => {
  it('with namesrvTlsEnable alone dials the NameServers with TLS trusting tlsCaPath and serves plain TCP', () => {
    const tls = loadBrokerTls(config({ namesrvTlsEnable: true }));
    expect(tls.server).toBeUndefined();
    expect(tls.client).toBeUndefined();
    expect(tls.namesrv?.ca).toBeInstanceOf(Buffer);
    const mixed = mixedClientTls(tls, NS);
    expect(mixed.tlsFor?.(NS[0]!)).toBe(true);
    expect(mixed.tlsFor?.('127.0.0.1:10911')).toBe(false);
  });

  it('with tlsEnable alone asks other brokers over TLS and the NameServers over plain TCP', () => {
    const mixed = mixedClientTls(loadBrokerTls(config({ tlsEnable: true })), NS);
    expect(mixed.tlsFor?.(NS[0]!)).toBe(false);
    expect(mixed.tlsFor?.('127.0.0.1:10911')).toBe(true);
  });

  it('without any TLS option gives plain TCP everywhere', () => {
    expect(mixedClientTls(loadBrokerTls(config({})), NS)).toEqual({});
  });
});
