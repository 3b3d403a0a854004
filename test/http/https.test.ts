// serveHttp with `tls`: HTTPS with a certificate made at test time by openssl.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { currentTask } from "../../src/index.js";
import { assertNothingLeft, baseline, get, outcome, withServer } from "./support.js";

/** A self-signed certificate for 127.0.0.1 and localhost, valid for a day. */
function makeCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "trellis-http-"));
  try {
    execFileSync(
      "openssl",
      [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
      ],
      { stdio: "ignore" },
    );
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("with tls, serveHttp serves HTTPS: an https: url, requests as tasks, a client that does not trust the certificate is refused", async () => {
  const before = baseline();
  const { key, cert } = makeCertificate();
  await withServer(
    (_req, res) => res.end(`secure ${currentTask()!.name}`),
    { tls: { key, cert } },
    async (info) => {
      assert.equal(info.url, `https://127.0.0.1:${info.port}/`);
      const reply = await get(info.url, "/s", { ca: cert });
      assert.deepEqual([reply.status, reply.body], [200, "secure GET /s"]);
      assert.equal(await outcome(get(info.url, "/untrusted")), "reset");
    },
  );
  await assertNothingLeft(before);
});
