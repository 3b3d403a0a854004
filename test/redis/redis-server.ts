// A real redis-server for the tests of trellis/redis: each test file starts its own on a free
// loopback port, with no persistence, and stops it after. No mock of Redis anywhere.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, connect } from "node:net";
import { after, before } from "node:test";
import { createClient } from "redis";

export const REDIS_SERVER = process.env.REDIS_SERVER ?? "/usr/bin/redis-server";

/** The `skip` option of a Redis test: never in CI (which installs redis-server: a missing one fails there). */
export const skipRedis: string | false =
  existsSync(REDIS_SERVER) || process.env.CI !== undefined ? false : `redis-server is not installed (${REDIS_SERVER})`;

/** A connected node-redis client. */
export type RedisTestClient = ReturnType<typeof createClient>;

/**
 * Starts a redis-server and connects a client to it before the tests of the calling file (or
 * `describe` block), and closes both after; read `redis.client` and `redis.server` in the tests.
 */
export function useRedis(): { readonly server: RedisServer; readonly client: RedisTestClient } {
  const redis = {} as { server: RedisServer; client: RedisTestClient };
  before(async () => {
    if (skipRedis) return;
    redis.server = await RedisServer.start();
    redis.client = createClient({ url: redis.server.url });
    await redis.client.connect();
  });
  after(async () => {
    await redis.client?.close().catch(() => {});
    await redis.server?.stop();
  });
  return redis;
}


/** A free TCP port on 127.0.0.1 (asked of the OS, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a server on a free port (or on `port`) and returns once it accepts connections. */
  static async start(port?: number): Promise<RedisServer> {
    const server = new RedisServer(port ?? (await freePort()));
    await server.launch();
    return server;
  }

  private async launch(): Promise<void> {
    const child = spawn(
      REDIS_SERVER,
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning"],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    this.child = child;
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code) => reject(new Error(`redis-server exited at start (code ${code})`))),
    );
    for (let i = 0; i < 200; i++) {
      if (await Promise.race([accepts(this.port), exited])) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`redis-server did not accept connections on port ${this.port}`);
  }

  /** Stops the server (SIGKILL when `crash`, else SIGTERM) and waits for it to exit. */
  async stop(crash = false): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(crash ? "SIGKILL" : "SIGTERM");
    await exited;
  }

  /** Restarts on the same port, empty (no persistence): what a restarted cache looks like. */
  async restart(): Promise<void> {
    await this.stop(true);
    await this.launch();
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
