// SPDX-License-Identifier: Apache-2.0
// Starts the REAL caregate binary for the browser tests, through the integration tier's helpers:
// tests/integration/lib/harness.mjs (embedded PostgreSQL) when it is there, else
// tests/integration/lib/server_fixture.mjs (a throwaway PostgreSQL cluster + database_url).
// The browser needs what protocol clients do not: the page's own origin must be an allowed
// origin, so a free port is chosen first and written into the config (port 0 cannot be
// known in advance). Returns { url, origin, addStaff(email, password, role, alias), restart(between)
// (null when the helper cannot restart), stop() }.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LIB = path.resolve(HERE, '../../integration/lib');
const SRC = path.resolve(HERE, '../../..');

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

async function load(name) {
  const file = process.env['CAREGATE_' + name.toUpperCase().replace(/\W/g, '_')] || path.join(LIB, name + '.mjs');
  if (!fs.existsSync(file)) return null;
  return import(pathToFileURL(file).href);
}

export async function startRealGateway({ clinic = 'Reha-Klinik Sonnenhof' } = {}) {
  const why = [];

  const h = await load('harness');
  if (h && typeof h.startGateway === 'function') {
    // The generic harness: embedded PostgreSQL in a throw-away state dir; gw.url is an allowed origin.
    const gw = await h.startGateway({ config: {
      clinic_name: clinic, staff_email_domains: 'demo-clinic.example',
      widget_dir: path.join(SRC, 'widget'), policy_file: path.join(SRC, 'deploy/policy.json'),
    } });
    const self = {
      url: gw.url, origin: gw.origin, gw, kind: 'harness',
      restart: async (between) => {
        await self.gw.stop();
        if (between) await between();
        self.gw = await self.gw.restart();
      },
      addStaff: (email, password, role = 'agent', alias = 'Anna') => h.addStaff(self.gw, email, role, password, { alias }),
      query: (sql, params) => h.pgQuery(self.gw, sql, params),
      stop: () => self.gw.cleanup(),
    };
    return self;
  }
  why.push('tests/integration/lib/harness.mjs is missing or has no startGateway()');

  const f = await load('server_fixture');
  if (f && typeof f.startGateway === 'function') {
    // This helper writes values unquoted and listens on port 0: quote, and pick the port here.
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const settings = {
      port, listen_address: '127.0.0.1',
      allowed_origins: `"${origin} http://localhost:${port}"`,
      clinic_name: `"${clinic}"`, staff_email_domains: 'demo-clinic.example',
      widget_dir: path.join(SRC, 'widget'), policy_file: path.join(SRC, 'deploy/policy.json'),
    };
    const cluster = new f.Cluster();
    cluster.start();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-browser-'));
    const config = f.prepare(cluster, dir, settings);
    let gw;
    try {
      gw = await f.startGateway(config);
    } catch (e) {
      cluster.destroy();
      throw e;
    }
    const self = {
      url: origin, origin, gw, config, kind: 'server_fixture',
      // Stops the gateway (SIGTERM, drained), runs `between` while it is down, starts it again
      // on the same port and database.
      restart: async (between) => {
        await f.stopGateway(self.gw);
        if (between) await between();
        self.gw = await f.startGateway(config);
      },
      cli: (args, input) => f.cli(config, args, input),
      addStaff: (email, password, role = 'agent', alias = 'Anna') => f.addStaff(config, email, password, role, alias),
      stop: async () => {
        await f.stopGateway(self.gw);
        cluster.destroy();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
    return self;
  }
  why.push('tests/integration/lib/server_fixture.mjs is missing');
  throw new Error('cannot start the real gateway: ' + why.join('; '));
}
