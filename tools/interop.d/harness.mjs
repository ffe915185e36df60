// Runs the interop suite: for each foreign stack, one headless Godot process running
// godot-project/interop/agent.gd (our transport) and one foreign peer (Chromium, libdatachannel
// through node-datachannel, aiortc), with this process relaying their JSON lines (signaling and
// commands) over a TCP socket on 127.0.0.1. Prints one result line per stack and a table; exits 1
// when a stack fails a check. tools/interop runs it inside a network namespace of its own.
//
//   node harness.mjs --godot tools/godot --project godot-project --stacks chromium,libdatachannel,aiortc
//       [--python target/interop-venv/bin/python3] [--logs DIR] [--bursts N]
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createForeignAgent } from './foreign_agent.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const STACK_TIMEOUT_MS = 120_000;

function options() {
  const args = process.argv.slice(2);
  const value = (name, fallback) => {
    const index = args.indexOf(name);
    return index >= 0 && index + 1 < args.length ? args[index + 1] : fallback;
  };
  return {
    godot: value('--godot', 'tools/godot'),
    project: value('--project', 'godot-project'),
    stacks: value('--stacks', 'chromium,libdatachannel,aiortc').split(',').filter(Boolean),
    python: value('--python', 'python3'),
    logs: value('--logs', ''),
    bursts: value('--bursts', '1'),
  };
}

/** Sends JSON lines to a stream, one object per line. */
function lineWriter(stream) {
  return (object) => { if (!stream.destroyed) stream.write(JSON.stringify(object) + '\n'); };
}

/** Calls onLine for each complete line read from a stream. */
function onLines(stream, onLine) {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.trim()) onLine(line);
    }
  });
}

/** A foreign peer: { version, handle(command), close() }, its events going to post. */
async function startForeign(stack, opts, post) {
  if (stack === 'libdatachannel') {
    const { RTCPeerConnection } = await import('node-datachannel/polyfill');
    if (process.env.INTEROP_DEBUG) (await import('node-datachannel')).initLogger('Debug', (level, message) => process.stderr.write(`[libdatachannel] ${message}\n`));
    const version = JSON.parse(readFileSync(join(here, 'node_modules/node-datachannel/package.json'), 'utf8')).version;
    return { version: `node-datachannel ${version}`, handle: createForeignAgent(RTCPeerConnection, post), close: async () => {} };
  }
  if (stack === 'chromium' || stack === 'chromium-ip') {
    const { chromium } = await import('playwright-core');
    const agentSource = readFileSync(join(here, 'foreign_agent.mjs'), 'utf8');
    const page = `<!doctype html><title>interop</title><script type="module">
      import { createForeignAgent } from '/foreign_agent.mjs';
      window.fromHarness = createForeignAgent(RTCPeerConnection, (event) => window.toHarness(event));
      window.agentReady = true;
    </script>`;
    const http = createHttpServer((request, response) => {
      const js = request.url === '/foreign_agent.mjs';
      response.writeHead(200, { 'content-type': js ? 'text/javascript' : 'text/html' });
      response.end(js ? agentSource : page);
    });
    await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'];
    if (stack === 'chromium-ip') flags.push('--disable-features=WebRtcHideLocalIpsWithMdns');
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: flags });
    const tab = await browser.newPage();
    tab.on('console', (message) => { if (message.type() === 'error') post({ t: 'error', error: message.text() }); });
    await tab.exposeFunction('toHarness', post);
    await tab.goto(`http://127.0.0.1:${http.address().port}/`);
    await tab.waitForFunction(() => window.agentReady === true);
    return {
      version: `Chromium ${browser.version()}`,
      handle: (command) => tab.evaluate((c) => window.fromHarness(c), command).catch(() => {}),
      close: async () => { await browser.close(); http.close(); },
    };
  }
  if (stack === 'aiortc') {
    const child = spawn(opts.python, [join(here, 'aiortc_agent.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let version = 'aiortc';
    const ready = new Promise((resolve) => {
      onLines(child.stdout, (line) => {
        const event = JSON.parse(line);
        if (event.t === 'version') { version = `aiortc ${event.version}`; resolve(); } else post(event);
      });
    });
    child.stderr.on('data', (chunk) => process.stderr.write(`[aiortc] ${chunk}`));
    await ready;
    const write = lineWriter(child.stdin);
    return { version, handle: async (command) => write(command), close: async () => { child.kill('SIGTERM'); } };
  }
  throw new Error(`unknown stack ${stack}`);
}

/** Runs one stack: a Godot agent and a foreign peer, relayed. Returns the Godot agent's result. */
async function runStack(stack, opts) {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  let toGodot = () => {};
  const foreign = await startForeign(stack, opts, (event) => toGodot(event));
  let result = null;
  server.on('connection', (socket) => {
    toGodot = lineWriter(socket);
    onLines(socket, (line) => {
      const command = JSON.parse(line);
      if (command.t === 'result') result = command.result;
      else foreign.handle(command);
    });
  });
  const args = ['--headless', '--path', opts.project, '--script', 'res://interop/agent.gd', '--',
    '--port', String(server.address().port), '--stack', stack, '--version', foreign.version, '--bursts', opts.bursts];
  const godot = spawn(opts.godot, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  godot.stdout.on('data', (chunk) => { output += chunk; });
  godot.stderr.on('data', (chunk) => { output += chunk; });
  const timer = setTimeout(() => godot.kill('SIGKILL'), STACK_TIMEOUT_MS);
  const code = await new Promise((resolve) => godot.on('exit', (exitCode, signal) => resolve(signal ? signal : exitCode)));
  clearTimeout(timer);
  await foreign.close();
  server.close();
  if (opts.logs) {
    mkdirSync(opts.logs, { recursive: true });
    writeFileSync(join(opts.logs, `${stack}.godot.log`), output);
  }
  const errorLines = output.split('\n').filter((line) => /^(USER )?ERROR:/.test(line));
  const warningLines = output.split('\n').filter((line) => /^(USER )?WARNING:/.test(line));
  if (!result) result = { stack, version: foreign.version, ok: false, failures: [`the Godot agent exited (${code}) without a result`] };
  result.engine_errors = errorLines;
  result.engine_warnings = warningLines;
  if (errorLines.length > 0) {
    result.ok = false;
    result.failures = [...(result.failures || []), `${errorLines.length} ERROR line(s) in the engine's output`];
  }
  if (code !== 0 && result.ok) {
    result.ok = false;
    result.failures = [...(result.failures || []), `the Godot agent exited with ${code}`];
  }
  if (!result.ok) process.stdout.write(output.split('\n').slice(-60).join('\n') + '\n');
  return result;
}

function table(results) {
  const ms = (value) => (value === undefined || value === null || value < 0 ? '-' : `${Math.round(value)} ms`);
  const median = (values) => {
    if (!Array.isArray(values) || values.length === 0) return undefined;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  };
  const rows = [['stack', 'version', 'connect: we offer / they offer / mesh', '1000 msgs: to us / round trip',
    'stalls', 'their close: our state', 'our close seen', 'result']];
  for (const r of results) {
    const f = r.figures || {};
    const rounds = (f.burst_to_us_ms || []).length + (f.burst_round_trip_ms || []).length;
    rows.push([r.stack, r.version, `${ms(f.connect_we_offer_ms)} / ${ms(f.connect_they_offer_ms)} / ${ms(f.connect_mesh_ms)}`,
      `${ms(median(f.burst_to_us_ms))} / ${ms(median(f.burst_round_trip_ms))}`,
      `${(f.burst_to_us_stalls || 0) + (f.burst_round_trip_stalls || 0)} of ${rounds}`,
      `${f.state_after_remote_close || '-'} in ${ms(f.remote_close_to_closed_ms)}`,
      ms(f.local_close_seen_ms), r.ok ? 'ok' : 'FAILED']);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  return rows.map((row) => row.map((cell, i) => String(cell).padEnd(widths[i])).join(' | ')).join('\n');
}

const opts = options();
const results = [];
for (const stack of opts.stacks) {
  let result;
  try {
    result = await runStack(stack, opts);
  } catch (err) {
    result = { stack, version: '?', ok: false, failures: [`could not run: ${err && err.stack ? err.stack : err}`] };
  }
  console.log(`INTEROP ${JSON.stringify(result)}`);
  results.push(result);
}
console.log(table(results));
const failed = results.filter((r) => !r.ok);
for (const r of failed) console.log(`${r.stack}: ${(r.failures || []).join('; ')}`);
process.exit(failed.length === 0 ? 0 : 1);
