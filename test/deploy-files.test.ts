// The deployment files in docs/deploy are what operators copy, so they are checked here as far as
// this machine can without a container engine: every Kubernetes manifest parses, the broker.conf
// the StatefulSet's init script renders for each ordinal is one the broker accepts (no warning,
// the right self id, the same peers on every node), the systemd units and the Dockerfile start the
// compiled entry points that exist, with the Node flags our launchers give a broker.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseBrokerConfig } from '../src/broker/broker-config.js';
import { BROKER_MALLOC_ENV, BROKER_NODE_FLAGS } from '../src/broker/node-flags.js';

const root = new URL('..', import.meta.url).pathname;
const deploy = join(root, 'docs', 'deploy');
const tmp = mkdtempSync(join(tmpdir(), 'deploy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Doc = { kind: string; metadata: { name: string }; spec?: Record<string, unknown>; data?: Record<string, string> };

function manifests(): Doc[] {
  const docs: Doc[] = [];
  for (const f of readdirSync(join(deploy, 'kubernetes')).filter((n) => n.endsWith('.yaml'))) {
    for (const d of parseAllDocuments(readFileSync(join(deploy, 'kubernetes', f), 'utf8'))) {
      expect(d.errors, f).toEqual([]);
      docs.push(d.toJS() as Doc);
    }
  }
  return docs;
}

/** /opt/rmq/dist/... in a unit or image is this checkout's dist/... */
function distPath(p: string): string {
  return join(root, p.replace(/^\/opt\/rmq\//, ''));
}

describe('Kubernetes manifests', () => {
  const docs = manifests();

  it('parse, and hold a NameServer Deployment and a broker group with its Services and budget', () => {
    const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`).sort();
    expect(kinds).toEqual(['ConfigMap/broker-a-config', 'Deployment/rmq-namesrv', 'PodDisruptionBudget/broker-a', 'Service/broker-a', 'Service/rmq-namesrv', 'StatefulSet/broker-a']);
  });

  it('render a broker.conf per ordinal that the broker accepts, naming itself and the same peers', () => {
    const set = docs.find((d) => d.kind === 'StatefulSet')! as unknown as {
      spec: { replicas: number; serviceName: string; template: { spec: { initContainers: { env: { name: string; value?: string }[] }[] } } };
    };
    const env = Object.fromEntries(set.spec.template.spec.initContainers[0]!.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
    expect(Number(env['REPLICAS'])).toBe(set.spec.replicas);
    expect(env['SERVICE']).toBe(set.spec.serviceName);
    const script = docs.find((d) => d.kind === 'ConfigMap')!.data!['render-broker-conf.sh']!;
    const peerLists = new Set<string>();
    for (let ordinal = 0; ordinal < set.spec.replicas; ordinal++) {
      const out = join(tmp, `broker-${ordinal}.conf`);
      execFileSync('sh', ['-c', script], { env: { ...env, POD_NAME: `broker-a-${ordinal}`, NAMESPACE: 'rmq', OUT: out, PATH: process.env['PATH'] ?? '' } });
      const { config, warnings } = parseBrokerConfig(readFileSync(out, 'utf8'));
      expect(warnings).toEqual([]);
      expect(config.dLegerSelfId).toBe(`n${ordinal}`);
      expect(config.brokerIP1).toBe(`broker-a-${ordinal}.broker-a.rmq.svc.cluster.local`);
      expect(config.dLegerPeers).toContain(`n${ordinal}-broker-a-${ordinal}.broker-a.rmq.svc.cluster.local:40911`);
      peerLists.add(config.dLegerPeers);
    }
    expect(peerLists.size).toBe(1);
  });

  it('refuse to render for a pod name without an ordinal', () => {
    const script = docs.find((d) => d.kind === 'ConfigMap')!.data!['render-broker-conf.sh']!;
    expect(() => execFileSync('sh', ['-c', script], { env: { POD_NAME: 'broker', NAMESPACE: 'rmq', SERVICE: 'broker-a', GROUP: 'broker-a', REPLICAS: '3', NAMESRV_ADDR: 'x:9876', OUT: join(tmp, 'x.conf') }, stdio: 'pipe' })).toThrow(
      /does not end in -<ordinal>/,
    );
  });
});

describe('systemd units and the Dockerfile', () => {
  it('start the compiled broker with the Node flags and malloc environment of every launcher, and the NameServer', () => {
    const broker = readFileSync(join(deploy, 'systemd', 'rmq-broker@.service'), 'utf8');
    const exec = /^ExecStart=(.*)$/m.exec(broker)![1]!.split(/\s+/);
    for (const flag of BROKER_NODE_FLAGS) expect(exec).toContain(flag);
    const environment = [...broker.matchAll(/^Environment=(.*)$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    for (const [k, v] of Object.entries(BROKER_MALLOC_ENV)) expect(environment).toContain(`${k}=${v}`);
    const script = exec.find((a) => a.endsWith('main.js'))!;
    expect(existsSync(distPath(script)), script).toBe(true);
    const namesrv = /^ExecStart=(.*)$/m.exec(readFileSync(join(deploy, 'systemd', 'rmq-namesrv.service'), 'utf8'))![1]!.split(/\s+/);
    expect(existsSync(distPath(namesrv.find((a) => a.endsWith('main.js'))!))).toBe(true);
  });

  it('copies sources that exist and starts the CLI that the build produces, with the brokers\' malloc environment', () => {
    const dockerfile = readFileSync(join(deploy, 'docker', 'Dockerfile'), 'utf8');
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const src of m[1]!.split(' ')) expect(existsSync(join(root, src)), src).toBe(true);
    }
    const entry = JSON.parse(/^ENTRYPOINT (.*)$/m.exec(dockerfile)![1]!) as string[];
    for (const flag of BROKER_NODE_FLAGS) expect(entry).toContain(flag);
    const env = [...dockerfile.matchAll(/^ENV (.*)$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    for (const [k, v] of Object.entries(BROKER_MALLOC_ENV)) expect(env).toContain(`${k}=${v}`);
    expect(existsSync(distPath(entry.find((a) => a.endsWith('main.js'))!))).toBe(true);
  });
});
