/**
 * Loopback HTTP servers for tests (127.0.0.1, ephemeral port), both recording every request:
 *  - FileServer: serves a directory and/or a map url-path → file|Buffer, with fault injection
 *    (status codes N times or always, truncated bodies, stalls, corrupted bytes) and basic auth.
 *  - PackageIndexServer: a PEP 503 "simple" index over a /opt/pypi-style tree
 *    (simple/<project>/index.html linking ../../files/<file>#sha256=…) plus overlay dirs of
 *    locally built wheels/sdists (see wheels.ts), usable as pip --index-url.
 * buildWheel/buildSdist/writeDistributionsManifest are re-exported from wheels.ts.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { hashFile } from './python-dist.js';
import { projectOfDistribution, normalizeProjectName } from './wheels.js';

export { buildWheel, buildSdist, writeDistributionsManifest, hostArch, normalizeProjectName } from './wheels.js';
export type { BuiltDistribution, WheelSpec, DistributionEntry } from './wheels.js';

export interface RecordedRequest {
  method: string;
  /** Decoded pathname, without query. */
  path: string;
  /** Raw request URL (path + query). */
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Status sent (undefined if the socket was dropped before headers). */
  status?: number;
}

/**
 * Fault injection. `times` limits how many requests are affected (then the path behaves
 * normally again); omitted = every request.
 *  - status: reply with that status (404, 500, 503 …) and a short text body.
 *  - truncate: Content-Length claims the full size, `afterBytes` bytes are sent, socket destroyed.
 *  - stall: headers + `afterBytes` bytes are sent, then nothing more; the socket stays open
 *    until the client gives up or the server is closed.
 *  - corrupt: same length, but the byte at `offset` (default: the middle) is flipped, or the
 *    whole body is replaced by `body` (Content-Length then matches `body`).
 */
export type Fault =
  | { kind: 'status'; status: number; times?: number }
  | { kind: 'truncate'; afterBytes: number; times?: number }
  | { kind: 'stall'; afterBytes: number; times?: number }
  | { kind: 'corrupt'; offset?: number; body?: Buffer; times?: number };

export interface BasicAuth {
  username: string;
  password: string;
}

/** A resolved response: a file to stream, an in-memory body, or a redirect. */
export type Resolved =
  | { file: string; contentType?: string }
  | { body: Buffer; contentType?: string }
  | { redirect: string };

export interface FileServerOptions {
  /** Directory served at '/'. */
  root?: string;
  /** Exact url path → file path or content; checked before `root`. */
  files?: Record<string, string | Buffer>;
  /** Require HTTP basic auth (401 + WWW-Authenticate otherwise). */
  auth?: BasicAuth;
  /** Custom resolver tried before `files`/`root` (used by PackageIndexServer). */
  resolve?: (urlPath: string) => Promise<Resolved | undefined>;
  /**
   * A fixed port, for a URL a tool wrote into a test's data (a lock's index); default any free one. Choose one
   * below Linux's ephemeral range (32768 and up), which freePort() and outgoing connections use.
   */
  port?: number;
}

const CONTENT_TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.json': 'application/json', '.toml': 'application/toml', '.txt': 'text/plain' };

export class FileServer {
  readonly requests: RecordedRequest[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly faults = new Map<string, { fault: Fault; remaining: number }>();
  private readonly files = new Map<string, string | Buffer>();
  private port = 0;

  protected constructor(private readonly opts: FileServerOptions) {
    for (const [p, f] of Object.entries(opts.files ?? {})) this.files.set(p, f);
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(opts: FileServerOptions = {}): Promise<FileServer> {
    return new FileServer(opts).listen();
  }

  protected async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** http://127.0.0.1:PORT */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Absolute URL for a path; with `auth`, credentials are embedded (user:pass@). */
  url(urlPath = '/', auth?: BasicAuth): string {
    const cred = auth ? `${encodeURIComponent(auth.username)}:${encodeURIComponent(auth.password)}@` : '';
    return `http://${cred}127.0.0.1:${this.port}${urlPath.startsWith('/') ? '' : '/'}${urlPath}`;
  }

  /** Serve `source` (file path or content) at `urlPath`. */
  addFile(urlPath: string, source: string | Buffer): void {
    this.files.set(urlPath, source);
  }

  /** Inject a fault for one url path, or for every path with '*'. A live path fault wins over '*'. */
  setFault(urlPath: string, fault: Fault): void {
    this.faults.set(urlPath, { fault, remaining: fault.times ?? Infinity });
  }

  clearFaults(): void {
    this.faults.clear();
  }

  requestsFor(urlPath: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === urlPath);
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Stops listening and destroys open (e.g. stalled) connections. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private takeFault(urlPath: string): Fault | undefined {
    for (const key of [urlPath, '*']) {
      const entry = this.faults.get(key);
      if (!entry || entry.remaining <= 0) continue; // an exhausted path fault falls back to '*'
      entry.remaining--;
      return entry.fault;
    }
    return undefined;
  }

  private authorized(req: http.IncomingMessage): boolean {
    const auth = this.opts.auth;
    if (!auth) return true;
    const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    return !!m?.[1] && Buffer.from(m[1], 'base64').toString('utf8') === `${auth.username}:${auth.password}`;
  }

  /** Hook tried before `files`/`root`; defaults to the `resolve` option. */
  protected resolveCustom(urlPath: string): Promise<Resolved | undefined> {
    return this.opts.resolve ? this.opts.resolve(urlPath) : Promise.resolve(undefined);
  }

  private async resolvePath(urlPath: string): Promise<Resolved | undefined> {
    const custom = await this.resolveCustom(urlPath);
    if (custom) return custom;
    const mapped = this.files.get(urlPath);
    if (mapped !== undefined) return typeof mapped === 'string' ? { file: mapped } : { body: mapped };
    if (!this.opts.root) return undefined;
    const root = path.resolve(this.opts.root);
    const file = path.resolve(root, `.${urlPath}`);
    if (file !== root && !file.startsWith(`${root}/`)) return undefined;
    const index = path.join(file, 'index.html');
    if (urlPath.endsWith('/') && fs.existsSync(index)) return { file: index };
    return fs.existsSync(file) && fs.statSync(file).isFile() ? { file } : undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(url.pathname);
    } catch {
      urlPath = url.pathname;
    }
    const record: RecordedRequest = { method: req.method ?? 'GET', path: urlPath, url: req.url ?? '/', headers: req.headers };
    this.requests.push(record);
    const send = (status: number, body: string, headers: http.OutgoingHttpHeaders = {}): void => {
      record.status = status;
      res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body), ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    try {
      if (!this.authorized(req)) return send(401, 'unauthorized\n', { 'WWW-Authenticate': 'Basic realm="test"' });
      const fault = this.takeFault(urlPath);
      if (fault?.kind === 'status') return send(fault.status, `injected ${fault.status}\n`);
      let resolved = await this.resolvePath(urlPath);
      if (!resolved) return send(404, 'not found\n');
      if (fault?.kind === 'corrupt' && fault.body && !('redirect' in resolved)) resolved = { body: fault.body, contentType: resolved.contentType };
      if ('redirect' in resolved) return send(301, '', { Location: resolved.redirect });
      const size = 'file' in resolved ? (await fs.promises.stat(resolved.file)).size : resolved.body.length;
      const ext = 'file' in resolved ? path.extname(resolved.file) : '';
      record.status = 200;
      res.writeHead(200, { 'Content-Type': resolved.contentType ?? CONTENT_TYPES[ext] ?? 'application/octet-stream', 'Content-Length': size });
      if (req.method === 'HEAD') return void res.end();
      await sendBody(res, resolved, size, fault);
    } catch (err) {
      if (!res.headersSent) send(500, `server error: ${String(err)}\n`);
      else res.destroy();
    }
  }
}

/** Stream the body, applying a truncate/stall/corrupt fault. */
async function sendBody(res: http.ServerResponse, src: { file: string } | { body: Buffer }, size: number, fault: Fault | undefined): Promise<void> {
  if (fault?.kind === 'corrupt') {
    const data = 'file' in src ? await fs.promises.readFile(src.file) : Buffer.from(src.body);
    if (fault.body) return void res.end(data); // already swapped in by handle()
    const at = Math.min(fault.offset ?? Math.floor(size / 2), Math.max(size - 1, 0));
    if (size > 0) data[at] = (data[at] ?? 0) ^ 0xff;
    return void res.end(data);
  }
  const limit = fault?.kind === 'truncate' || fault?.kind === 'stall' ? Math.min(fault.afterBytes, size) : size;
  if ('body' in src) {
    await writeChunk(res, src.body.subarray(0, limit));
  } else if (limit > 0) {
    for await (const chunk of fs.createReadStream(src.file, { start: 0, end: limit - 1 })) {
      if (res.destroyed) return;
      await writeChunk(res, chunk as Buffer);
    }
  }
  if (fault?.kind === 'truncate') res.socket?.destroy();
  else if (fault?.kind !== 'stall') res.end();
  // stall: leave the response open; close() destroys the socket.
}

function writeChunk(res: http.ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (chunk.length === 0 || res.destroyed) return resolve();
    res.write(chunk, () => resolve());
  });
}

export interface PackageIndexOptions {
  /** Tree with simple/<project>/index.html and files/ (default /opt/pypi). */
  root?: string;
  /** Extra dirs of .whl/.tar.gz/.zip files merged into the index (served under /overlay/). */
  overlayDirs?: string[];
  auth?: BasicAuth;
  /** See FileServerOptions.port. */
  port?: number;
}

/** PEP 503 simple index; `indexUrl()` is the value for pip --index-url / PIP_INDEX_URL. */
export class PackageIndexServer extends FileServer {
  private constructor(
    private readonly root: string,
    private readonly overlayDirs: string[],
    auth?: BasicAuth,
    port?: number,
  ) {
    super({ auth, port });
  }

  static override async start(opts: PackageIndexOptions = {}): Promise<PackageIndexServer> {
    return new PackageIndexServer(opts.root ?? '/opt/pypi', [...(opts.overlayDirs ?? [])], opts.auth, opts.port).listen();
  }

  /** http://[user:pass@]127.0.0.1:PORT/simple/ */
  indexUrl(auth?: BasicAuth): string {
    return this.url('/simple/', auth);
  }

  /** Merge another directory of distributions into the index. */
  addOverlayDir(dir: string): void {
    this.overlayDirs.push(dir);
  }

  private overlayFiles(): Array<{ dir: string; name: string; project: string }> {
    const out: Array<{ dir: string; name: string; project: string }> = [];
    for (const dir of this.overlayDirs) {
      for (const name of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
        const project = projectOfDistribution(name);
        if (project) out.push({ dir, name, project });
      }
    }
    return out;
  }

  protected override async resolveCustom(urlPath: string): Promise<Resolved | undefined> {
    const html = (links: string[]): Resolved => ({
      body: Buffer.from(`<!DOCTYPE html><html><body>\n${links.join('\n')}\n</body></html>\n`),
      contentType: 'text/html; charset=utf-8',
    });
    const simple = path.join(this.root, 'simple');
    if (urlPath === '/simple' || urlPath === '/') return { redirect: '/simple/' };
    if (urlPath === '/simple/') {
      const overlay = this.overlayFiles();
      const rootIndex = path.join(simple, 'index.html');
      if (overlay.length === 0 && fs.existsSync(rootIndex)) return { file: rootIndex };
      const dirs = fs.existsSync(simple) ? fs.readdirSync(simple).filter((d) => fs.statSync(path.join(simple, d)).isDirectory()) : [];
      const names = [...new Set([...dirs, ...overlay.map((o) => o.project)])].sort();
      return html(names.map((n) => `<a href="${n}/">${n}</a>`));
    }
    let m = /^\/simple\/([^/]+)(\/?)$/.exec(urlPath);
    if (m?.[1]) {
      const project = normalizeProjectName(m[1]);
      if (m[2] !== '/' || project !== m[1]) return { redirect: `/simple/${project}/` };
      const page = [path.join(simple, project, 'index.html')].find((f) => fs.existsSync(f));
      const links: string[] = page ? ((await fs.promises.readFile(page, 'utf8')).match(/<a\s[^>]*>[^<]*<\/a>/gi) ?? []) : [];
      for (const o of this.overlayFiles().filter((f) => f.project === project)) {
        const { sha256 } = await hashFile(path.join(o.dir, o.name));
        links.push(`<a href="../../overlay/${encodeURIComponent(o.name)}#sha256=${sha256}">${o.name}</a>`);
      }
      return links.length > 0 ? html(links) : undefined;
    }
    m = /^\/(files|overlay)\/([^/]+)$/.exec(urlPath);
    if (m?.[1] === 'files' && m[2]) {
      const file = path.join(this.root, 'files', m[2]);
      return fs.existsSync(file) ? { file } : undefined;
    }
    if (m?.[1] === 'overlay' && m[2]) {
      const hit = this.overlayFiles().find((o) => o.name === m?.[2]);
      return hit ? { file: path.join(hit.dir, hit.name) } : undefined;
    }
    return undefined;
  }
}
