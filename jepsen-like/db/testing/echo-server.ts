// A stand-in for a broker node in the process-control tests: listens on every `--port P` given
// (on 127.0.0.1), echoes what it receives, and prints one line once it listens. It lets the db
// and nemesis layers be tested for kill, restart and pause without a broker.
import { createServer, type Socket } from 'node:net';

const ports: number[] = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--port') ports.push(Number(argv[++i]));
}
if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p <= 0 || p > 65535)) {
  process.stderr.write('usage: echo-server --port P [--port Q ...]\n');
  process.exit(2);
}

const sockets = new Set<Socket>();
let listening = 0;
for (const port of ports) {
  const server = createServer((s) => {
    sockets.add(s);
    s.on('data', (d) => s.write(d));
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  server.listen({ host: '127.0.0.1', port }, () => {
    if (++listening === ports.length) process.stdout.write(`echo server ${process.pid} listening on ${ports.join(',')}\n`);
  });
}

process.on('SIGTERM', () => {
  for (const s of sockets) s.destroy();
  process.exit(0);
});
