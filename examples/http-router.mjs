// A plain (req, res) router served by serveHttp: nothing trellis-specific in the routes except
// that each request is a task (so sleep, deadlines and currentSignal() work inside), and that a
// route which throws is answered 500 and reported while the server goes on.
import { request } from "node:http";
import { run, withTaskGroup, sleep, currentTask } from "../dist/index.js";
import { serveHttp } from "../dist/http/index.js";

/** A tiny router: "METHOD /path" → handler; 404 otherwise. Any (req, res) code works the same. */
function router(routes) {
  return (req, res) => {
    const route = routes[`${req.method} ${new URL(req.url, "http://x").pathname}`];
    if (route !== undefined) return route(req, res);
    res.statusCode = 404;
    res.end("not found\n");
  };
}

async function readJson(req) {
  let text = "";
  for await (const chunk of req) text += chunk;
  return JSON.parse(text);
}

const app = router({
  "GET /hello": (req, res) => res.end(`hello from task "${currentTask().name}"\n`),
  "POST /sum": async (req, res) => {
    const { numbers } = await readJson(req);
    await sleep(5); // any trellis wait: cancelled if the client leaves
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ sum: numbers.reduce((a, b) => a + b, 0) }));
  },
  "GET /broken": () => {
    throw new Error("this route has a bug");
  },
});

function call(url, method = "GET", body) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (c) => (text += c));
      res.on("end", () => resolve(`${res.statusCode} ${text.trim()}`));
    });
    req.on("error", reject);
    req.end(body);
  });
}

await run(() =>
  withTaskGroup(async (tg) => {
    const { url } = await tg.start((status) =>
      serveHttp(app, {
        host: "127.0.0.1",
        status,
        onError: (err, task) => console.log(`reported: ${task.name} failed: ${err.message}`),
      }),
    );
    console.log(`GET /hello  -> ${await call(`${url}hello`)}`);
    console.log(`POST /sum   -> ${await call(`${url}sum`, "POST", JSON.stringify({ numbers: [1, 2, 3] }))}`);
    console.log(`GET /broken -> ${await call(`${url}broken`)}`);
    console.log(`GET /nope   -> ${await call(`${url}nope`)}`);
    tg.cancel(); // shut the server down
  }),
);
